import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { SyncError, type MutationResult, type SyncState } from '../protocol/index.js';
import { createClientLogger } from './client-logger.js';
import { resolveSyncOptions, type SyncOptions, type SyncOptionsInput } from './client-options.js';
import { HttpTransport } from './http-transport.js';
import { LocalStore, encodeLocal } from './local-store.js';
import { quoteLocal as q } from './local-ddl.js';
import { SyncEngine, type PushOutcome, type TableCounts } from './sync-engine.js';
import { isTransient, SyncHttpError } from './sync-http-error.js';
import { SyncStatus, type Progress, type StatusSnapshot } from './sync-status.js';

export type LocalConflict = {
  id: number;
  eventId: string;
  table: string;
  rowId: string;
  resolution: string;
  localRecord: unknown;
  serverRecord: unknown;
  createdAt: string;
};

/** A record the server refused, with its reason (also kept in the till's dead letters). */
export type Rejection = {
  eventId: string;
  table: string;
  id: string | null;
  code: string;
  message: string;
};

export type SendResult = {
  success: boolean;
  conflicts: MutationResult[];
  rejected: Rejection[];
  /** Why the push did not complete (`offline`, `error`); null when it did. */
  error: string | null;
};

export type SyncSummary = {
  summary: {
    status: SyncState;
    pushed: number;
    pulled: number;
    conflicts: number;
    rejected: number;
    durationMs: number;
  };
  tables: Record<string, TableCounts>;
};

/**
 * A terminal's sync: its local SQLite database, the outbox the POS app's writes
 * fill, and push/pull to the server. Seed 000's API in TypeScript.
 *
 * Network errors, timeouts and 5xx are retried with backoff and jitter; a
 * record the server rejects goes to the local dead-letter table and the rest flow.
 *
 * @example
 * const manager = new SyncManager('caminho/banco.db', { serverUrl, token });
 * const { success, conflicts } = await manager.sendToServer('produtos', [{ id: '1', nome: 'Produto A', preco: 10.99 }]);
 * const { data } = await manager.fetchFromServer('produtos');
 * const result = await manager.syncAllTables();
 * console.log(`Sincronização concluída: ${result.summary.status}`);
 * await manager.close(); // or `await using manager = ...` on Node 24+
 */
export class SyncManager implements AsyncDisposable {
  readonly options: SyncOptions;
  readonly store: LocalStore;
  readonly status = new SyncStatus();
  protected readonly logger: Logger;
  protected readonly engine: SyncEngine;
  private running: Promise<SyncSummary> | null = null;
  private prepared = false;

  constructor(dbPath: string, options: SyncOptionsInput = {}) {
    this.options = resolveSyncOptions(options);
    this.logger = createClientLogger(this.options.logFile, this.options.logLevel, [
      this.options.token,
    ]);
    this.store = new LocalStore(dbPath);
    const transport = new HttpTransport({
      serverUrl: this.options.serverUrl,
      token: this.options.token,
      timeoutMs: this.options.timeoutMs,
      retry: this.options.retry,
      onRetry: (attempt, error) => this.logger.warn({ attempt, error: String(error) }, 'retrying'),
    });
    this.engine = new SyncEngine(this.store, transport, this.options, this.status, this.logger);
    this.status.update(this.store.counts());
  }

  /** The local database, for the POS app's own SQL; its writes to synced tables are captured. */
  get db(): Database.Database {
    return this.store.db;
  }

  get state(): StatusSnapshot {
    return this.status.current;
  }

  on(event: 'status', listener: (s: StatusSnapshot) => void): this;
  on(event: 'progress', listener: (p: Progress) => void): this;
  on(
    event: 'status' | 'progress',
    listener: ((s: StatusSnapshot) => void) | ((p: Progress) => void),
  ): this {
    (this.status as unknown as NodeJS.EventEmitter).on(event, listener);
    return this;
  }

  /** Creates the local tables from the server's schema (or the cached one offline). */
  async prepare(): Promise<void> {
    if (this.prepared) return;
    await this.engine.ready();
    this.prepared = true;
  }

  /**
   * Writes records into the local table (captured by the outbox, one local transaction: the
   * server applies them all or none) and pushes. Returns whether every record was accepted,
   * the conflicts, the records the server refused with their reasons, and the sync error if
   * the push could not complete (offline: the records stay queued and are sent later).
   */
  async sendToServer(table: string, records: Record<string, unknown>[]): Promise<SendResult> {
    await this.prepare();
    const def = this.store.table(table);
    if (!def) throw new SyncError('UNKNOWN_TABLE', `table ${table} is not in the sync schema`);
    const write = () =>
      this.store.transaction(() => {
        for (const r of records) {
          const cols = def.columns.filter((c) => r[c.name] !== undefined).map((c) => c.name);
          const values = cols.map((c) =>
            encodeLocal(
              def.columns.find((d) => d.name === c)?.type ?? 'text',
              c === 'id' ? String(r[c]) : r[c],
            ),
          );
          const sets = cols.filter((c) => c !== 'id');
          // A partial record updates the existing row (an upsert's INSERT would be checked, and
          // refused, as a whole new row without its required columns).
          const exists =
            def.kind !== 'event' &&
            sets.length > 0 &&
            this.store.db.prepare(`SELECT 1 FROM ${q(def.name)} WHERE id = ?`).get(String(r['id']));
          if (exists)
            this.store.db
              .prepare(
                `UPDATE ${q(def.name)} SET ${sets.map((c) => `${q(c)} = ?`).join(', ')} WHERE id = ?`,
              )
              .run(...values.filter((_, i) => cols[i] !== 'id'), String(r['id']));
          else
            this.store.db
              .prepare(
                `INSERT INTO ${q(def.name)} (${cols.map(q).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
              )
              .run(...values);
        }
      });
    write();
    const result = await this.run(async () => {
      const pushed = await this.engine.push();
      return {
        pushed: pushed.pushed,
        pulled: 0,
        tables: pushed.tables,
        conflicts: pushed.conflicts.length,
        rejected: pushed.rejected.length,
        conflictList: pushed.conflicts,
        rejectedList: pushed.rejected,
      };
    });
    return {
      success:
        result.summary.rejected === 0 &&
        result.summary.status !== 'error' &&
        result.summary.status !== 'offline',
      conflicts: result.conflictList,
      rejected: result.rejectedList.map((r) => ({
        eventId: r.eventId,
        table: r.table ?? def.name,
        id: r.id ?? null,
        code: r.reason?.code ?? 'UNKNOWN',
        message: r.reason?.message ?? '',
      })),
      error:
        result.summary.status === 'error' || result.summary.status === 'offline'
          ? (this.state.lastError ?? result.summary.status)
          : null,
    };
  }

  /**
   * Runs fn (the POS app's writes on `manager.db`) in one local transaction whose rows the
   * server applies all or none: a sale with its items and payments arrives whole.
   */
  transaction<T>(fn: () => T): T {
    return this.store.transaction(fn);
  }

  /** Pulls the server's changes and returns the table's rows (tombstones applied) and its stored conflicts. */
  async fetchFromServer(
    table: string,
  ): Promise<{ data: Record<string, unknown>[]; conflicts: LocalConflict[] }> {
    await this.prepare();
    const def = this.store.table(table);
    if (!def) throw new SyncError('UNKNOWN_TABLE', `table ${table} is not in the sync schema`);
    await this.syncAllTables();
    return { data: this.store.rows(def), conflicts: this.conflicts(def.name) };
  }

  /** Push the outbox, pull every table, reconcile, and report this terminal's health to the server. */
  async syncAllTables(): Promise<SyncSummary> {
    const result = await this.run(async () => {
      // A restored server is noticed on any answer (contract C3): re-send, then push and pull again.
      await this.engine.checkEpoch();
      let pushed = await this.engine.push();
      if (await this.engine.checkEpoch()) pushed = mergePush(pushed, await this.engine.push());
      let pulled = await this.engine.pull();
      if (await this.engine.checkEpoch()) {
        pushed = mergePush(pushed, await this.engine.push());
        pulled = await this.engine.pull();
      }
      const tables = new Map(pushed.tables);
      for (const [name, c] of pulled.tables)
        tables.set(name, {
          ...(tables.get(name) ?? { pushed: 0, conflicts: 0, rejected: 0, pulled: 0 }),
          pulled: c.pulled,
        });
      let reconcile = await this.engine.reconcile().catch(() => null);
      if (reconcile && !reconcile.isConsistent) {
        // Counts taken a moment apart race with other writers (another till's push just after
        // this pull, a change not yet servable on PostgreSQL): a mismatch is reported only
        // when it survives one more pull.
        const again = await this.engine.pull();
        for (const [name, c] of again.tables) {
          const t = tables.get(name) ?? { pushed: 0, conflicts: 0, rejected: 0, pulled: 0 };
          tables.set(name, { ...t, pulled: t.pulled + c.pulled });
        }
        pulled = { ...pulled, pulled: pulled.pulled + again.pulled };
        reconcile = await this.engine.reconcile().catch(() => null);
      }
      const rowsDiverged = await this.rowReconcileIfDue();
      return {
        pushed: pushed.pushed,
        pulled: pulled.pulled,
        tables,
        conflicts: pushed.conflicts.length,
        rejected: pushed.rejected.length,
        conflictList: pushed.conflicts,
        diverged: (reconcile ? !reconcile.isConsistent : false) || rowsDiverged,
      };
    });
    return { summary: result.summary, tables: result.tables };
  }

  /**
   * Runs the row-level reconcile when `rowReconcileIntervalMs` has passed since the last one
   * (or since the first sync; never when 0); a server without it (404) is left alone. Returns whether the last one
   * found divergent rows.
   */
  private async rowReconcileIfDue(): Promise<boolean> {
    const every = this.options.rowReconcileIntervalMs;
    // Due: the console asked for a repair (status answer's `rowRepairs`), even when off.
    const due = this.store.getMeta('row_reconcile_due') !== null;
    if (every <= 0 && !due) return false;
    const last = Date.parse(this.store.getMeta('row_reconcile_at') ?? '');
    // The first sync only starts the clock: a till that has just pulled everything holds
    // the server's rows; the first check comes one interval later.
    if (!Number.isFinite(last) && !due)
      this.store.setMeta('row_reconcile_at', new Date().toISOString());
    else if (due || Date.now() - last >= every)
      await this.engine.rowReconcile().catch((err: unknown) => {
        if (!(err instanceof SyncHttpError && err.httpStatus === 404))
          this.logger.warn({ err: String(err) }, 'row reconcile failed; trying again next sync');
      });
    return Number(this.store.getMeta('row_divergent') ?? 0) > 0;
  }

  /** Local conflicts, newest first. */
  conflicts(table?: string): LocalConflict[] {
    const rows = this.store.db
      .prepare(
        `SELECT * FROM _pdv_conflicts ${table ? 'WHERE table_name = ?' : ''} ORDER BY id DESC LIMIT 1000`,
      )
      .all(...(table ? [table] : [])) as Record<string, unknown>[];
    return rows.map((r) => ({
      id: Number(r['id']),
      eventId: String(r['event_id']),
      table: String(r['table_name']),
      rowId: String(r['row_id']),
      resolution: String(r['resolution']),
      localRecord: r['local_record'] ? (JSON.parse(r['local_record'] as string) as unknown) : null,
      serverRecord: r['server_record']
        ? (JSON.parse(r['server_record'] as string) as unknown)
        : null,
      createdAt: String(r['created_at']),
    }));
  }

  /** Records the server refused, with the reason, kept for audit. */
  deadLetters(): Record<string, unknown>[] {
    return this.store.db.prepare(`SELECT * FROM _pdv_dead_letters ORDER BY id`).all() as Record<
      string,
      unknown
    >[];
  }

  private run(
    work: () => Promise<{
      pushed: number;
      pulled: number;
      tables: Map<string, TableCounts>;
      conflicts: number;
      rejected: number;
      conflictList: MutationResult[];
      rejectedList?: MutationResult[];
      diverged?: boolean;
    }>,
  ): Promise<SyncSummary & { conflictList: MutationResult[]; rejectedList: MutationResult[] }> {
    // One sync at a time. A caller arriving mid-sync waits and then runs its own: the
    // running one may have read the outbox before this caller's writes (sendToServer).
    // SyncClient coalesces its own timer ticks and notifications before they get here.
    if (this.running) {
      const running = this.running;
      return running.catch(() => undefined).then(() => this.run(work));
    }
    const started = Date.now();
    const promise = (async () => {
      this.status.update({ state: 'syncing', ...this.store.counts() });
      let state: SyncState;
      let out: Awaited<ReturnType<typeof work>> = {
        pushed: 0,
        pulled: 0,
        tables: new Map(),
        conflicts: 0,
        rejected: 0,
        conflictList: [],
      };
      try {
        await this.prepare();
        out = await work();
        const counts = this.store.counts();
        state = counts.deadLetters > 0 || out.conflicts > 0 || out.diverged ? 'diverged' : 'synced';
        this.status.update({
          state,
          ...counts,
          lastSuccessAt: new Date().toISOString(),
          lastError: null,
        });
        this.logger.info(
          {
            pushed: out.pushed,
            pulled: out.pulled,
            conflicts: out.conflicts,
            rejected: out.rejected,
          },
          'sync done',
        );
      } catch (err) {
        state = isTransient(err) ? 'offline' : 'error';
        const message =
          err instanceof Error
            ? `${(err as { code?: string }).code ?? err.name}: ${err.message}`
            : String(err);
        this.status.update({ state, ...this.store.counts(), lastError: message });
        (state === 'offline' ? this.logger.warn : this.logger.error).call(
          this.logger,
          { err: message },
          'sync failed',
        );
      }
      if (state !== 'offline') await this.engine.reportStatus().catch(() => undefined);
      return {
        summary: {
          status: state,
          pushed: out.pushed,
          pulled: out.pulled,
          conflicts: out.conflicts,
          rejected: out.rejected,
          durationMs: Date.now() - started,
        },
        tables: Object.fromEntries(out.tables),
        conflictList: out.conflictList,
        rejectedList: out.rejectedList ?? [],
      };
    })();
    this.running = promise;
    void promise.finally(() => (this.running = null));
    return promise;
  }

  /** Runs work while no sync runs (and holds later syncs until it is done). */
  protected exclusive<T>(work: () => Promise<T>): Promise<T> {
    const previous = this.running?.catch(() => undefined) ?? Promise.resolve();
    const run = previous.then(work);
    const marker = run.then(
      () => this.idleSummary(),
      () => this.idleSummary(),
    );
    this.running = marker;
    void marker.finally(() => {
      if (this.running === marker) this.running = null;
    });
    return run;
  }

  private idleSummary(): SyncSummary & {
    conflictList: MutationResult[];
    rejectedList: MutationResult[];
  } {
    return {
      summary: {
        status: this.status.current.state,
        pushed: 0,
        pulled: 0,
        conflicts: 0,
        rejected: 0,
        durationMs: 0,
      },
      tables: {},
      conflictList: [],
      rejectedList: [],
    };
  }

  async close(): Promise<void> {
    await this.running?.catch(() => undefined);
    this.store.close();
    this.logger.flush();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function mergePush(a: PushOutcome, b: PushOutcome): PushOutcome {
  const tables = new Map(a.tables);
  for (const [name, c] of b.tables) {
    const t = tables.get(name) ?? { pushed: 0, pulled: 0, conflicts: 0, rejected: 0 };
    tables.set(name, {
      pushed: t.pushed + c.pushed,
      pulled: t.pulled,
      conflicts: t.conflicts + c.conflicts,
      rejected: t.rejected + c.rejected,
    });
  }
  return {
    pushed: a.pushed + b.pushed,
    conflicts: [...a.conflicts, ...b.conflicts],
    rejected: [...a.rejected, ...b.rejected],
    tables,
  };
}

/** Seed 000's `sync_all_tables()`: one full sync with options from the environment. */
export async function syncAllTables(
  dbPath: string,
  options: SyncOptionsInput = {},
): Promise<SyncSummary> {
  const manager = new SyncManager(dbPath, options);
  try {
    return await manager.syncAllTables();
  } finally {
    await manager.close();
  }
}
