/**
 * The wire protocol's version, sent as `x-pdv-sync-protocol` on every response.
 * History:
 * 1 — push/pull with opaque cursors, per-table form, single events (seed 003).
 * 2 — real-time WebSocket channels `/ws` and `/ws/pedidos` (seed 004), `GET /ws/stats`;
 *     the agent's payload v4 at `POST /api/ingest/v4` and its listing `GET /api/ingest/v4`
 *     (seed 001), `agents` in `GET /api/stats`. Additive: v1 clients work.
 * 3 — all additive for well-formed v2 clients:
 *   - change log ordered by transaction id on PostgreSQL: cursors `c2.<db>.<xid>.<seq>` (a `c1.`
 *     cursor still works); `pedido_update`/`status_update` carry `cursor` (their position);
 *     live `action: "create"` for every row a listener has not been told of; `changeLog` in
 *     `GET /api/stats`. Cursors stay opaque.
 *   - fair sharing: the `pedidos` message may carry `truncated: true` (bounded
 *     snapshot), close code 1013 (token's share of WebSocket slots taken), `error` messages
 *     with code `RATE_LIMITED` on /ws*, HTTP 408 `REQUEST_TIMEOUT`.
 *   - status report's optional console fields (outboxBacklog, oldestUnsentAt,
 *     deadLetterItems, cursorLag, sdkVersion, schemaVersion) and `commands` in its answer;
 *     role `manager` in `GET /api/session` and `POST /api/admin/devices`.
 *   - `x-pdv-sync-epoch` on every answer and `GET /api/sync/epoch` (restore epoch,
 *     contract C3).
 *   - push and the per-table form validate each mutation alone (a malformed one is
 *     `rejected` at its position, code MUTATION_INVALID; only the envelope can fail the request);
 *     optional `Mutation.group` and the schema's `parent` relation make sale groups
 *     all-or-nothing (GROUP_REJECTED); idempotency keys per (store, eventId); schema
 *     `writeRoles` (WRITE_FORBIDDEN).
 *   - ingest accepts any v4 agent: `sync_id` an opaque key (verification a setting),
 *     optional fields with fallbacks, numbers as text, unknown fields kept
 *     (`GET /api/ingest/v4/:syncId`), store ids bound (403 AGENT_STORE_MISMATCH), answer's
 *     optional `notStored` and `warnings`, 413 beyond `--ingest-max-sales`.
 *   - the contract published: `GET /api/openapi.json` (OpenAPI 3.1, from `routes.ts`) and its
 *     page `GET /api/docs`, both without a token.
 * 4 — exact money: schema column type `decimal` (`scale`, default 2; 18 digits). A request that
 *     sends `x-pdv-sync-protocol: 4` (or later) reads decimals in pull `changes`, push results
 *     and `/api/tables` as canonical text (`"10.50"`), and `GET /api/schema` with `decimal`
 *     columns; any other request (v1–v3 SDKs; the seed-compatible routes always) reads JSON
 *     numbers and `number` columns as before. Input accepts both. Additive.
 * 5 — row-level reconcile, additive (older clients work; a v5 SDK treats a 404 from an older
 *     server as "not available" and keeps the per-table reconcile): `POST /api/sync/reconcile/
 *     ranges` (digests over id ranges, `row-digest.ts` / `range-reconcile.ts`), `/rows` (the
 *     server's rows by id, in the terminal's scope), `/divergent` (what a terminal found; answers
 *     the repairs the console asked for); console `GET|POST /api/console/terminals/:machineId/
 *     divergent-rows[/repair]`; optional `rowRepairs` in the answer to `POST /api/sync/status`
 *     and `timeZone` in `GET /api/session`.
 */
export const protocolVersion = 5;

/** The first protocol whose clients read decimals as canonical text (`"10.50"`). */
export const decimalTextProtocol = 4;
