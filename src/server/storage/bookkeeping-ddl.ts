/**
 * The server's own bookkeeping tables, the same on both engines but for the
 * auto-increment and big-integer types. The change log is per engine (ddl.ts).
 */
export function sharedBookkeepingDdl(t: { autoId: string; bigint: string }): string[] {
  return [
    // Idempotency keys, per store (owner: src/server/sync/push/idempotency.ts, which also
    // migrates databases made when event_id alone was the key).
    eventKeysDdl('IF NOT EXISTS _sync_events', t.bigint),
    `CREATE INDEX IF NOT EXISTS _sync_events_created ON _sync_events (created_at)`,
    `CREATE TABLE IF NOT EXISTS _sync_conflicts (
     id ${t.autoId}, event_id TEXT NOT NULL, machine_id TEXT NOT NULL,
     store_id TEXT, table_name TEXT NOT NULL, row_id TEXT NOT NULL, policy TEXT NOT NULL,
     resolution TEXT NOT NULL, reason TEXT NOT NULL, client_record TEXT, server_record TEXT,
     created_at TEXT NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS _sync_conflicts_store ON _sync_conflicts (store_id, id)`,
    `CREATE TABLE IF NOT EXISTS _sync_devices (
     id ${t.autoId}, machine_id TEXT NOT NULL, store_id TEXT,
     role TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL,
     revoked_at TEXT, last_seen_at TEXT, pushes ${t.bigint} NOT NULL DEFAULT 0,
     pulls ${t.bigint} NOT NULL DEFAULT 0)`,
    `CREATE INDEX IF NOT EXISTS _sync_devices_machine ON _sync_devices (machine_id)`,
    `CREATE TABLE IF NOT EXISTS _sync_terminal_status (
     machine_id TEXT PRIMARY KEY, store_id TEXT, state TEXT NOT NULL, backlog INTEGER NOT NULL,
     dead_letters INTEGER NOT NULL, conflicts INTEGER NOT NULL, last_success_at TEXT,
     last_error TEXT, reported_at TEXT NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS _sync_reconciliations (
     id ${t.autoId}, machine_id TEXT NOT NULL, store_id TEXT,
     is_consistent INTEGER NOT NULL, mismatches_count INTEGER NOT NULL, mismatches TEXT NOT NULL,
     created_at TEXT NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS _sync_reconciliations_machine ON _sync_reconciliations (machine_id, id)`,
    // Console (admin console and alerts): what terminals report beyond their state, their
    // timeline, commands waiting for them, who did what from the console, and alerts raised.
    `CREATE TABLE IF NOT EXISTS _sync_terminal_details (
     machine_id TEXT PRIMARY KEY, store_id TEXT, outbox_backlog INTEGER, oldest_unsent_at TEXT,
     dead_letter_items TEXT NOT NULL, cursor_lag ${t.bigint}, sdk_version TEXT,
     schema_version TEXT, reported_at TEXT NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS _sync_terminal_events (
     id ${t.autoId}, machine_id TEXT NOT NULL, store_id TEXT, kind TEXT NOT NULL,
     detail TEXT NOT NULL, created_at TEXT NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS _sync_terminal_events_machine ON _sync_terminal_events (machine_id, id)`,
    `CREATE TABLE IF NOT EXISTS _sync_terminal_commands (
     id ${t.autoId}, machine_id TEXT NOT NULL, store_id TEXT, command TEXT NOT NULL,
     dead_letter_id TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL,
     done_at TEXT)`,
    `CREATE INDEX IF NOT EXISTS _sync_terminal_commands_machine ON _sync_terminal_commands (machine_id, status)`,
    `CREATE TABLE IF NOT EXISTS _sync_console_audit (
     id ${t.autoId}, actor TEXT NOT NULL, store_id TEXT, machine_id TEXT, action TEXT NOT NULL,
     target TEXT NOT NULL, reason TEXT NOT NULL, created_at TEXT NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS _sync_alerts (
     id ${t.autoId}, kind TEXT NOT NULL, key TEXT NOT NULL, store_id TEXT, machine_id TEXT,
     message TEXT NOT NULL, details TEXT NOT NULL, created_at TEXT NOT NULL,
     delivered_at TEXT, attempts INTEGER NOT NULL DEFAULT 0, resolved_at TEXT)`,
    `CREATE INDEX IF NOT EXISTS _sync_alerts_key ON _sync_alerts (key, id)`,
    // Agent payloads (POST /api/ingest/v4): one row per stored payload, written in the
    // transaction of its rows. Keyed per store: two stores' empty windows hash alike.
    `CREATE TABLE IF NOT EXISTS _sync_ingests (
     store_id TEXT NOT NULL, sync_id TEXT NOT NULL, machine_id TEXT NOT NULL,
     event_type TEXT NOT NULL, id_ponto_venda ${t.bigint}, id_filial ${t.bigint},
     window_from TEXT NOT NULL, window_to TEXT NOT NULL, vendas INTEGER NOT NULL,
     turnos INTEGER NOT NULL, warnings TEXT NOT NULL, quebras TEXT NOT NULL,
     late INTEGER NOT NULL, received_at TEXT NOT NULL, PRIMARY KEY (store_id, sync_id))`,
    `CREATE INDEX IF NOT EXISTS _sync_ingests_received ON _sync_ingests (received_at)`,
    `CREATE INDEX IF NOT EXISTS _sync_ingests_store ON _sync_ingests (store_id, received_at)`,
    // One row per store: its lock (ingests of one store run one at a time) and the agent's health.
    `CREATE TABLE IF NOT EXISTS _sync_ingest_stores (
     store_id TEXT PRIMARY KEY, machine_id TEXT NOT NULL, ingests ${t.bigint} NOT NULL DEFAULT 0,
     latest_window_to TEXT, last_ingest_at TEXT, last_seen_at TEXT NOT NULL)`,
    // Agent payloads as sent (unknown fields kept) and what their first answer said beyond
    // the counts, so a resend is answered like the first; purged with the ingest keys' age.
    `CREATE TABLE IF NOT EXISTS _sync_ingest_bodies (
     store_id TEXT NOT NULL, sync_id TEXT NOT NULL, body TEXT NOT NULL, not_stored TEXT NOT NULL,
     server_warnings TEXT NOT NULL, received_at TEXT NOT NULL, PRIMARY KEY (store_id, sync_id))`,
    `CREATE INDEX IF NOT EXISTS _sync_ingest_bodies_store ON _sync_ingest_bodies (store_id, received_at)`,
    // A store's ids in its agent's source systems (seed 001's store block): set with its
    // agent token or bound by its first payload; a payload naming other ids is refused.
    `CREATE TABLE IF NOT EXISTS _sync_ingest_bindings (
     store_id TEXT PRIMARY KEY, id_ponto_venda ${t.bigint} NOT NULL, id_filial ${t.bigint},
     bound_by TEXT NOT NULL, bound_at TEXT NOT NULL)`,
  ];
}

/** The idempotency keys' table, per store; also used to rebuild an older `_sync_events`. */
export function eventKeysDdl(name: string, bigint: string): string {
  return `CREATE TABLE ${name} (
     store_id TEXT NOT NULL, event_id TEXT NOT NULL, machine_id TEXT NOT NULL,
     table_name TEXT NOT NULL, row_id TEXT NOT NULL, status TEXT NOT NULL, version ${bigint},
     created_at TEXT NOT NULL, PRIMARY KEY (store_id, event_id))`;
}
