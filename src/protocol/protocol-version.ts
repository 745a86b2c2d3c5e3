/**
 * The wire protocol's version, sent as `x-pdv-sync-protocol` on every response.
 * History:
 * 1 — push/pull with opaque cursors, per-table form, single events (seed 003).
 * 2 — real-time WebSocket channels `/ws` and `/ws/pedidos` (seed 004), `GET /ws/stats`;
 *     the agent's payload v4 at `POST /api/ingest/v4` and its listing `GET /api/ingest/v4`
 *     (seed 001), `agents` in `GET /api/stats`. Additive: v1 clients work.
 * (ops) — `x-pdv-sync-epoch` on every answer and `GET /api/sync/epoch` (restore epoch,
 *     contract C3). Additive.
 */
export const protocolVersion = 2;
