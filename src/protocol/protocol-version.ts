/**
 * The wire protocol's version, sent as `x-pdv-sync-protocol` on every response.
 * History:
 * 1 — push/pull with opaque cursors, per-table form, single events (seed 003).
 * 2 — real-time WebSocket channels `/ws` and `/ws/pedidos` (seed 004), `GET /ws/stats`;
 *     the agent's payload v4 at `POST /api/ingest/v4` and its listing `GET /api/ingest/v4`
 *     (seed 001), `agents` in `GET /api/stats`. Additive: v1 clients work.
 * (push) — push and the per-table form validate each mutation alone (a malformed one is
 *     `rejected` at its position, code MUTATION_INVALID; only the envelope can fail the request);
 *     optional `Mutation.group` and the schema's `parent` relation make sale groups
 *     all-or-nothing (GROUP_REJECTED); idempotency keys per (store, eventId); schema
 *     `writeRoles` (WRITE_FORBIDDEN). Additive for well-formed clients.
 */
export const protocolVersion = 2;
