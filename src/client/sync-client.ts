import {
  SyncError,
  type Mismatch,
  type ReconcileResponse,
  type TableSummary,
} from '../protocol/index.js';
import type { SyncOptionsInput } from './client-options.js';
import { LiveLink, type LiveState } from './live-link.js';
import type { DivergentRowFound } from './row-reconcile-pass.js';
import { SyncHttpError } from './sync-http-error.js';
import { SyncManager, type SyncSummary } from './sync-manager.js';

/** What to do when a reconcile finds the till's tables differ from the server's. */
export type DivergenceStrategy = 'log' | 'refresh_mismatched';

export type ReconcileSettings = {
  /** Reconcile every `reconcileInterval` ms while started. */
  autoReconcile: boolean;
  reconcileInterval: number;
  /** `log` (default): warn with the mismatches; `refresh_mismatched`: also re-pull only those tables. */
  divergenceStrategy: DivergenceStrategy;
  /** The summary to compare (default: the till's own row counts of every pulled table). */
  getClientSummary?: () => Promise<Record<string, TableSummary>> | Record<string, TableSummary>;
};

/**
 * Automatic sync: `start()` syncs now, then every `intervalMs`
 * (PDV_SYNC_INTERVAL_MS, default 5 s) and, with `live` (the default), as soon as
 * the server announces a change over its WebSocket; `syncNow()` syncs at once;
 * `stop()` closes the live connection, waits for a running sync and stops.
 *
 * @example
 * const client = new SyncClient('./pdv.db', { serverUrl, token });
 * client.on('status', (s) => console.log(s.state));
 * client.onLive((state) => console.log('live:', state));
 * client.start();
 */
export class SyncClient extends SyncManager {
  /** Automatic reconciliation (`initSyncClient` sets it from its options). */
  reconcileSettings: ReconcileSettings = {
    autoReconcile: false,
    reconcileInterval: 60_000,
    divergenceStrategy: 'log',
  };
  private reconcileTimer: NodeJS.Timeout | null = null;
  private timer: NodeJS.Timeout | null = null;
  private link: LiveLink | null = null;
  private inFlight: Promise<SyncSummary> | null = null;
  private again = false;
  private readonly liveListeners = new Set<(state: LiveState) => void>();

  start(): void {
    if (this.timer) return;
    void this.requestSync();
    this.timer = setInterval(() => void this.requestSync(), this.options.intervalMs);
    if (this.reconcileSettings.autoReconcile)
      this.reconcileTimer = setInterval(
        () => void this.reconcileNow().catch(() => undefined),
        this.reconcileSettings.reconcileInterval,
      );
    if (this.options.live) {
      this.link = new LiveLink({
        serverUrl: this.options.serverUrl,
        token: this.options.token,
        heartbeatMs: this.options.heartbeatMs,
        reconnectBaseMs: 250,
        reconnectMaxMs: this.options.reconnectMaxDelayMs,
      });
      // Connected (first time or after a gap) or told of a change: pull from our own cursor.
      this.link.on('connected', () => void this.requestSync());
      this.link.on('changes', () => void this.requestSync());
      this.link.on('refresh', () => void this.requestSync());
      this.link.on('state', (state) => this.logger.info({ state }, 'live connection'));
      for (const listener of this.liveListeners) this.link.on('state', listener);
      this.link.on('error', (err) => this.logger.warn({ err: String(err) }, 'live connection'));
      this.link.start();
    }
  }

  /** The live connection's state (`disconnected` when `live` is off or before `start()`). */
  get liveState(): LiveState {
    return this.link?.state ?? 'disconnected';
  }

  /** Failed live reconnection attempts since the last success. */
  get reconnectAttempt(): number {
    return this.link?.reconnectAttempt ?? 0;
  }

  /**
   * Calls `listener` on every live connection state change, before or after `start()`;
   * returns an unsubscribe.
   */
  onLive(listener: (state: LiveState) => void): () => void {
    this.liveListeners.add(listener);
    this.link?.on('state', listener);
    return () => {
      this.liveListeners.delete(listener);
      this.link?.off('state', listener);
    };
  }

  /** Drops and reopens the live connection now. */
  reconnect(): void {
    this.link?.reconnect();
  }

  syncNow(): Promise<SyncSummary> {
    return this.requestSync();
  }

  /**
   * One sync at a time; a request during a sync runs one more after it, so a
   * notification that arrives mid-pull is never lost in the coalescing.
   */
  private requestSync(): Promise<SyncSummary> {
    if (this.inFlight) {
      this.again = true;
      return this.inFlight;
    }
    const run = this.syncAllTables().finally(() => {
      this.inFlight = null;
      if (this.again && this.timer) {
        this.again = false;
        void this.requestSync().catch(() => undefined);
      }
    });
    this.inFlight = run;
    return run;
  }

  /**
   * Compares the till's summary with the server's; mismatches are logged. With
   * `refresh_mismatched`, the row-level reconcile (range hashes) finds the exact rows that
   * differ and only those are fetched again (the server's copy wins); against a server without
   * it, or with an app-supplied summary (`getClientSummary`, tables the SDK cannot hash), the
   * divergent tables are pulled again from zero.
   */
  async reconcileNow(): Promise<
    ReconcileResponse & { refreshed: string[]; divergentRows: DivergentRowFound[] }
  > {
    await this.prepare();
    const summary = await this.reconcileSettings.getClientSummary?.();
    const res = await this.engine.reconcile(summary);
    const refreshed: string[] = [];
    let divergentRows: DivergentRowFound[] = [];
    if (!res.isConsistent)
      this.logger.warn(
        { mismatches: res.mismatches },
        'reconcile: the till differs from the server',
      );
    if (this.reconcileSettings.divergenceStrategy === 'refresh_mismatched') {
      const rowLevel = summary
        ? null
        : await this.exclusive(() => this.engine.rowReconcile()).catch((err: unknown) => {
            if (err instanceof SyncHttpError && err.httpStatus === 404) return null;
            throw err;
          });
      if (rowLevel) {
        divergentRows = rowLevel.divergent;
        if (divergentRows.length) {
          this.logger.warn(
            { rows: divergentRows.slice(0, 50), count: divergentRows.length },
            "reconcile: rows differ from the server; fetching the server's copy of them",
          );
          await this.exclusive(() => this.engine.refreshRows(divergentRows));
          for (const d of divergentRows)
            if (this.store.table(d.table)?.direction !== 'up' && !refreshed.includes(d.table))
              refreshed.push(d.table);
        }
      } else if (!res.isConsistent) {
        const defs = uniqueTables(res.mismatches, (n) => this.store.table(n));
        await this.exclusive(() => this.engine.refreshTables(defs));
        refreshed.push(...defs.map((d) => d.name));
      }
    }
    return { ...res, refreshed, divergentRows };
  }

  /**
   * The table's rows as the till holds them, deletes (tombstones) applied, after a sync when
   * the server is reachable (offline: the local rows).
   */
  async fetch(table: string): Promise<Record<string, unknown>[]> {
    await this.prepare().catch(() => undefined);
    const def = this.store.table(table);
    if (!def) throw new SyncError('UNKNOWN_TABLE', `table ${table} is not in the sync schema`);
    await this.syncNow();
    return this.store.rows(def);
  }

  async stop(): Promise<void> {
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    this.reconcileTimer = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.link?.stop();
    this.link = null;
    await this.inFlight?.catch(() => undefined);
    await this.close();
  }
}

function uniqueTables<T extends { name: string }>(
  mismatches: Mismatch[],
  lookup: (name: string) => T | undefined,
): T[] {
  const out = new Map<string, T>();
  for (const m of mismatches) {
    const def = lookup(m.table);
    if (def) out.set(def.name, def);
  }
  return [...out.values()];
}

/** The options of the front ends' `initSyncClient` (the SDK's own names are accepted too). */
export type InitSyncClientOptions = SyncOptionsInput & {
  serverUrl?: string;
  /** The till's local database (default `./pdv.db`, or PDV_SYNC_DB). */
  dbPath?: string;
  /** Start syncing at once (default true). */
  autoSync?: boolean;
  /** Sync period in ms (default 5000). */
  syncInterval?: number;
  autoReconcile?: boolean;
  /** Reconcile period in ms (default 60000). */
  reconcileInterval?: number;
  divergenceStrategy?: DivergenceStrategy;
  getClientSummary?: ReconcileSettings['getClientSummary'];
};

/**
 * The front ends' entry point: a `SyncClient` with automatic sync and, with `autoReconcile`,
 * periodic reconciliation (`refresh_mismatched` re-pulls only the divergent tables). The token
 * comes from `token` or PDV_SYNC_TOKEN / NEXT_PUBLIC_SYNC_API_KEY.
 */
export function initSyncClient(options: InitSyncClientOptions = {}): SyncClient {
  const {
    dbPath,
    autoSync = true,
    syncInterval,
    autoReconcile = false,
    reconcileInterval = 60_000,
    divergenceStrategy = 'log',
    getClientSummary,
    ...sdk
  } = options;
  const client = new SyncClient(dbPath ?? process.env['PDV_SYNC_DB'] ?? './pdv.db', {
    ...sdk,
    ...(syncInterval !== undefined ? { intervalMs: syncInterval } : {}),
  });
  client.reconcileSettings = {
    autoReconcile,
    reconcileInterval,
    divergenceStrategy,
    ...(getClientSummary ? { getClientSummary } : {}),
  };
  if (autoSync) client.start();
  return client;
}
