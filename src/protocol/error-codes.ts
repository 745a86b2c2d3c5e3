/**
 * The catalogue of error codes that cross the wire. Every error the server or
 * CLI reports carries one of these codes; `docs/errors.md` is generated from it
 * (`npm run docs:errors`). Codes are stable: never rename one, add a new one.
 */
export const errorCatalogue = {
  UNAUTHORIZED: {
    status: 401,
    cause: 'No token, an unknown token or a revoked token was sent.',
    remedy: 'Send a valid device or admin token in `x-api-key` or `Authorization: Bearer`.',
  },
  FORBIDDEN: {
    status: 403,
    cause:
      'The token is valid but may not use this route or this data (e.g. a device token on an admin route).',
    remedy: 'Use a token with the right role or store.',
  },
  MACHINE_MISMATCH: {
    status: 403,
    cause: 'The `machineId` in the body is not the machine the device token was issued for.',
    remedy: 'Send the machineId the token was created with, or create a token for this machine.',
  },
  VALIDATION_FAILED: {
    status: 400,
    cause: 'The request body, query or parameters do not match the protocol schema.',
    remedy: 'Read `details.issues` for the path and reason of each problem.',
  },
  INVALID_JSON: {
    status: 400,
    cause: 'The body is not valid JSON or has the wrong content type.',
    remedy: 'Send `Content-Type: application/json` with a JSON body.',
  },
  UNKNOWN_TABLE: {
    status: 404,
    cause: 'The table is not declared in the sync schema (nor is it an alias).',
    remedy: 'See `GET /api/schema` for the declared tables and aliases.',
  },
  UNKNOWN_EVENT_TYPE: {
    status: 422,
    cause:
      'The event `type` is not `<table>_created|_updated|_deleted` for a declared table or alias.',
    remedy: '`details.accepted` lists every accepted type.',
  },
  RECORD_INVALID: {
    status: 422,
    cause:
      'A record does not match its table: unknown column, wrong type or a missing required column.',
    remedy: 'The message names the column; fix the record and send it with a new eventId.',
  },
  DIRECTION_FORBIDDEN: {
    status: 422,
    cause: 'A terminal wrote to a download-only table (e.g. usuarios).',
    remedy: 'Change such rows on the server (admin routes); terminals only read them.',
  },
  SCOPE_VIOLATION: {
    status: 422,
    cause:
      "The record names another store than the device token's, or would move a row to another store.",
    remedy: "A device writes only its own store's rows; use that store's device token.",
  },
  EVENT_IMMUTABLE: {
    status: 422,
    cause:
      'An update or delete was sent for an event table (sales, payments...), which is insert-only.',
    remedy: 'Record a new event (e.g. a cancellation) instead of changing the old one.',
  },
  CONFLICT: {
    status: 409,
    cause:
      'An admin write collided with the row on the server (e.g. an event row that already exists with other content).',
    remedy:
      '`details.result` holds the mutation result with the server row; re-read it before writing again.',
  },
  NOT_FOUND: {
    status: 404,
    cause: 'The route or the row does not exist.',
    remedy: 'Check the path and id.',
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    cause: 'The body is larger than the server accepts.',
    remedy: 'Split the batch; `details.limitBytes` gives the limit.',
  },
  BATCH_TOO_LARGE: {
    status: 413,
    cause: 'The batch has more mutations than the server accepts in one request.',
    remedy: 'Split the batch; `details.limit` gives the maximum count.',
  },
  RATE_LIMITED: {
    status: 429,
    cause: 'This token sent more requests than its allowance.',
    remedy: 'Wait for the `Retry-After` seconds and retry; other tokens are not affected.',
  },
  CURSOR_INVALID: {
    status: 400,
    cause: 'The `since` cursor was not produced by this server.',
    remedy: 'Send back the cursor exactly as received, or omit it to start from zero.',
  },
  CURSOR_EXPIRED: {
    status: 410,
    cause: 'The cursor is older than the tombstone retention; deletes it would need are gone.',
    remedy: 'Discard the local copy of the synced tables and pull again from zero (re-bootstrap).',
  },
  DEVICE_EXISTS: {
    status: 409,
    cause: 'A device with this machineId already has an active token.',
    remedy: 'Revoke the old device first, or choose another machineId.',
  },
  DATABASE_UNAVAILABLE: {
    status: 503,
    cause: 'The server cannot reach its database.',
    remedy: 'Retry later; check the database and the server log.',
  },
  CONFIG_INVALID: {
    status: 500,
    cause: 'A configuration value (flag, environment or .env) is missing or malformed.',
    remedy: 'The message names the setting and the expected form.',
  },
  SCHEMA_INVALID: {
    status: 500,
    cause: 'The sync schema file does not match the schema format.',
    remedy: 'The message names the path of each problem in the file.',
  },
  INTERNAL: {
    status: 500,
    cause: 'An unexpected server error.',
    remedy: 'Retry; if it persists, report it with the `requestId` from the server log.',
  },
  // ingest (agent payloads)
  SYNC_ID_MISMATCH: {
    status: 422,
    cause:
      "An agent payload's `integrity.sync_id` is not the SHA-256 of its canonical JSON (RFC 8785) without `sync_id`: the payload changed after its id was computed.",
    remedy:
      'Compute the id with `agentSyncId(payload)` after the last change to the payload; `details.expected` gives the id the server computed.',
  },
  STORE_REQUIRED: {
    status: 400,
    cause:
      'The admin token, bound to no store, addressed a row of a store-scoped table (rows there are identified by store and id) or posted an agent payload without naming the store.',
    remedy:
      "Name the store: its column in a pushed record, `?storeId=<storeId>` on the table routes, `?store=<storeId>` on an agent payload (e.g. to replay a dead-lettered one); or use the store's device token.",
  },
  AGENT_STORE_MISMATCH: {
    status: 403,
    cause:
      "An agent payload's `store` block (`id_ponto_venda`, `id_filial`) names another store than the one the token's store is configured with (set with its agent token, or bound by its first payload).",
    remedy:
      "Check the agent's `STORE_ID_PONTO_VENDA` / `STORE_ID_FILIAL`, or that it uses this store's token; `details` gives both.",
  },
  // agent
  AGENT_SOURCE_UNAVAILABLE: {
    status: 503,
    cause:
      'The sync agent could not read a store database (`caixa` or `gestao`): connection refused, login failed, or a query file failed.',
    remedy:
      'Run `pdv-sync agent --doctor`; check the driver URL or SQL_* variables and the query files. Without `caixa` the window is retried next cycle; without `gestao` it is sent with `GESTAO_DB_FAILURE` and read again later.',
  },
  AGENT_PAYLOAD_INVALID: {
    status: 500,
    cause:
      'The rows a query file returned do not make a valid v4 payload (missing or mistyped column).',
    remedy:
      'The message names the field; fix the column alias or type in the query file (the contract is in docs/agent.md). The window is not advanced.',
  },
  AGENT_DELIVERY_FAILED: {
    status: 503,
    cause: 'The webhook answered 5xx, timed out or could not be reached.',
    remedy:
      'Nothing to do: the payload stays in `data/outbox/` and is sent again, oldest first, every cycle.',
  },
  AGENT_DELIVERY_REFUSED: {
    status: 400,
    cause:
      'The webhook refused a payload with a 4xx (or it failed the attempt limit); it was moved to `data/dead_letter/`.',
    remedy:
      'Read `<file>.reason.json` beside it; after fixing the cause, move the file back with `pdv-sync agent --requeue-dead-letter`.',
  },
  AGENT_STATE_INVALID: {
    status: 500,
    cause: "The agent's `state.json` or an outbox file is unreadable or malformed.",
    remedy:
      'Restore it, or set `last_sync_to` in `state.json` by hand (ISO 8601 with offset) to the end of the last window the server has.',
  },
  AGENT_LOCKED: {
    status: 409,
    cause: 'Another agent process is running with the same data folder (`agent.lock`).',
    remedy: 'Stop the other one (service or scheduled task) first; one agent per store.',
  },
  // Push: per-mutation validation and sale groups (contract C1).
  MUTATION_INVALID: {
    status: 422,
    cause:
      "A mutation's own fields are malformed: eventId, op, table, updatedAt, baseVersion, deltas or group (the message names the field). Only that mutation (and its group) is refused.",
    remedy: 'Fix the field and send the mutation again with a valid eventId.',
  },
  GROUP_REJECTED: {
    status: 422,
    cause:
      "Another member of this mutation's group (the same `group`, or its parent row in the same request) was rejected, so the whole group was refused: a sale arrives whole or not at all.",
    remedy:
      'The message names the offending member by its index; fix it and resend the whole group.',
  },
  WRITE_FORBIDDEN: {
    status: 422,
    cause:
      "The token's role may not write this table (the table's `writeRoles` in the sync schema).",
    remedy: 'Write it with a token of an allowed role, or change `writeRoles` in the schema.',
  },
  // operations (backup, restore, CLI against a server's database)
  DATABASE_NOT_FOUND: {
    status: 500,
    cause:
      "A command that manages the server's database found none where the server's settings point (it never creates one).",
    remedy:
      'Run it from the server folder (same .env), pass --db with the database the server uses, or use --server URL with the admin token.',
  },
  BACKUP_FAILED: {
    status: 500,
    cause: 'The backup could not be written (no space, no permission, pg_dump missing or failing).',
    remedy:
      'The message says which step failed; for PostgreSQL install the client tools (pg_dump, pg_restore) of the server version.',
  },
  BACKUP_INVALID: {
    status: 500,
    cause:
      'The file given to restore is not a complete pdv-sync backup (truncated, altered or of another kind).',
    remedy: 'Use another backup file; nothing was changed in the target database.',
  },
  RESTORE_REFUSED: {
    status: 500,
    cause: 'The target database already holds data, or a server is using it.',
    remedy:
      'Stop the server; restore into an empty database, or pass --force to replace what is there.',
  },
  // fair sharing between stores
  REQUEST_TIMEOUT: {
    status: 408,
    cause:
      "The request body did not arrive within the server's body timeout (`--body-timeout-ms`).",
    remedy: 'Check the network; send smaller batches over slow links.',
  },
} as const satisfies Record<string, { status: number; cause: string; remedy: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

export const errorCodes = Object.keys(errorCatalogue) as ErrorCode[];
