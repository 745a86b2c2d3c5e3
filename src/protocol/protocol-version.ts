/**
 * The wire protocol's version, sent as `x-pdv-sync-protocol` on every response.
 * History:
 * 1 — push/pull with opaque cursors, per-table form, single events (seed 003).
 * 2 — real-time WebSocket channels `/ws` and `/ws/pedidos` (seed 004), `GET /ws/stats`;
 *     the agent's payload v4 at `POST /api/ingest/v4` and its listing `GET /api/ingest/v4`
 *     (seed 001), `agents` in `GET /api/stats`. Additive: v1 clients work.
 * (interop) — ingest accepts any v4 agent: `sync_id` an opaque key (verification a setting),
 *     optional fields with fallbacks, numbers as text, unknown fields kept
 *     (`GET /api/ingest/v4/:syncId`), store ids bound (403 AGENT_STORE_MISMATCH), answer's
 *     optional `notStored` and `warnings`, 413 beyond `--ingest-max-sales`. Additive.
 */
export const protocolVersion = 2;
