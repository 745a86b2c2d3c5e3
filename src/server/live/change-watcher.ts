import type { LiveAction } from '../../protocol/index.js';
import type { SqlExecutor, Storage } from '../storage/index.js';

/** One committed change as the change log holds it. */
export type WatchedChange = {
  seq: number;
  table: string;
  id: string;
  op: 'upsert' | 'delete';
  action: LiveAction;
  storeId: string | null;
};

/**
 * What the watcher hands on: changes in seq (= commit) order, with `tx` to read
 * what else is needed from the same snapshot. It returns the sending step, run
 * after the read transaction ends, so pulls never wait behind a send loop.
 */
export type ChangeBatchHandler = (changes: WatchedChange[], tx: SqlExecutor) => Promise<() => void>;

const pageSize = 2000;

/**
 * Tails the change log. Woken by the storage after every commit (this process's,
 * another process's through PostgreSQL NOTIFY, a back office's through SQLite's
 * data_version), it reads what is past the last seq it announced. Because a seq
 * is visible only after every smaller one (storage.ts), announcing "everything
 * up to seq N" never skips a change, whichever process made it.
 */
export class ChangeWatcher {
  private lastSeq = 0;
  private running: Promise<void> | null = null;
  private again = false;
  private unwatch: (() => Promise<void>) | null = null;
  private stopped = false;
  private safety: NodeJS.Timeout | null = null;

  constructor(
    private readonly storage: Storage,
    private readonly handle: ChangeBatchHandler,
    private readonly onError: (err: unknown) => void,
    /** The change log went backwards (a database restored from a backup): clients must reload. */
    private readonly onReset: () => void = () => undefined,
  ) {}

  get seq(): number {
    return this.lastSeq;
  }

  async start(): Promise<void> {
    this.lastSeq = await this.storage.read(async (tx) => {
      const rows = await tx.all<{ seq: number | null }>(
        `SELECT MAX(seq) AS seq FROM _sync_changes`,
      );
      return Number(rows[0]?.seq ?? 0);
    });
    // Deferred: a commit's own HTTP answer goes out before the fan-out (SQLite runs it synchronously).
    this.unwatch = await this.storage.watchCommits(() => setImmediate(() => this.poke()));
    // A safety net under the wake-ups (a failed read, a NOTIFY lost on a dropped connection): one indexed query.
    this.safety = setInterval(() => this.poke(), 2000).unref();
  }

  /** Coalesces wake-ups: one read at a time, and one more if woken during it. */
  poke(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((err: unknown) => this.onError(err))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.poke();
        }
      });
  }

  private async drain(): Promise<void> {
    for (;;) {
      let send: (() => void) | null = null;
      const count = await this.storage.read(async (tx) => {
        const rows = await tx.all<{
          seq: number;
          table_name: string;
          row_id: string;
          op: string;
          action: LiveAction | null;
          store_id: string | null;
        }>(
          `SELECT seq, table_name, row_id, op, action, store_id FROM _sync_changes
            WHERE seq > ? ORDER BY seq LIMIT ?`,
          [this.lastSeq, pageSize],
        );
        if (rows.length === 0) {
          const top = await tx.all<{ seq: number | null }>(
            `SELECT MAX(seq) AS seq FROM _sync_changes`,
          );
          const max = Number(top[0]?.seq ?? 0);
          if (max < this.lastSeq) {
            this.lastSeq = max;
            this.onReset();
          }
          return 0;
        }
        const changes = rows.map((r): WatchedChange => {
          const op = r.op === 'delete' ? 'delete' : 'upsert';
          const action = r.action ?? (op === 'delete' ? 'delete' : 'update');
          return {
            seq: Number(r.seq),
            table: String(r.table_name),
            id: String(r.row_id),
            op,
            action,
            storeId: r.store_id == null ? null : String(r.store_id),
          };
        });
        send = await this.handle(changes, tx);
        this.lastSeq = changes[changes.length - 1].seq;
        return rows.length;
      });
      (send as (() => void) | null)?.();
      if (count < pageSize || this.stopped) return;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.safety) clearInterval(this.safety);
    await this.unwatch?.();
    await this.running;
  }
}
