import {
  comparePositions,
  logStart,
  type LiveAction,
  type LogPosition,
} from '../../protocol/index.js';
import type { SqlExecutor, Storage } from '../storage/index.js';
import { changeLogOf, type ChangeLog } from '../sync/change-log.js';

/** One committed change as the change log holds it. */
export type WatchedChange = {
  position: LogPosition;
  /** The row's version (what pulls and push answers call it). */
  version: number;
  table: string;
  id: string;
  op: 'upsert' | 'delete';
  action: LiveAction;
  storeId: string | null;
};

/**
 * What the watcher hands on: changes in position order (log-position.ts), with `tx` to read
 * what else is needed from the same snapshot. It returns the sending step, run
 * after the read transaction ends, so pulls never wait behind a send loop.
 */
export type ChangeBatchHandler = (changes: WatchedChange[], tx: SqlExecutor) => Promise<() => void>;

const pageSize = 2000;

/**
 * Tails the change log. Woken by the storage after every commit (this process's,
 * another process's through PostgreSQL NOTIFY, a back office's through SQLite's
 * data_version), it reads what is past the last position it announced. Because
 * the log serves a position only once no smaller one can still commit
 * (change-log.ts), announcing "everything up to P" never skips a change,
 * whichever process made it.
 */
export class ChangeWatcher {
  private last: LogPosition = logStart;
  private readonly log: ChangeLog;
  private running: Promise<void> | null = null;
  private again = false;
  private unwatch: (() => Promise<void>) | null = null;
  private stopped = false;
  private safety: NodeJS.Timeout | null = null;
  /** Wake-ups skipped while nobody listened: `last` may be behind the log. */
  private behind = false;

  constructor(
    private readonly storage: Storage,
    private readonly handle: ChangeBatchHandler,
    private readonly onError: (err: unknown) => void,
    /** The change log went backwards (a database restored from a backup): clients must reload. */
    private readonly onReset: () => void = () => undefined,
    /**
     * Nobody listens: a wake-up reads nothing (a push's commit then costs no read of the
     * log); `resume` moves the position to the log's head before the next listener.
     */
    private readonly idle: () => boolean = () => false,
  ) {
    this.log = changeLogOf(storage);
  }

  /** The last position announced. */
  get position(): LogPosition {
    return this.last;
  }

  async start(): Promise<void> {
    this.last = await this.storage.read((tx) => this.log.liveHead(tx));
    // Deferred: a commit's own HTTP answer goes out before the fan-out (SQLite runs it synchronously).
    this.unwatch = await this.storage.watchCommits(() => setImmediate(() => this.poke()));
    // A safety net under the wake-ups (a failed read, a NOTIFY lost on a dropped connection): one indexed query.
    this.safety = setInterval(() => this.poke(), 2000).unref();
  }

  /**
   * Before a listener joins: skipped wake-ups are made up for by starting from the log's
   * head, as `start` does (what committed meanwhile is the listener's to pull, from the
   * cursor it is greeted with). Returns whether the position moved.
   */
  async resume(): Promise<boolean> {
    if (!this.behind) return false;
    this.behind = false;
    await this.running;
    const head = await this.storage.read((tx) => this.log.liveHead(tx));
    // Only forward: a log that went back is the drain's to notice (it compares with the top).
    if (comparePositions(head, this.last) <= 0) return false;
    this.last = head;
    return true;
  }

  /** Coalesces wake-ups: one read at a time, and one more if woken during it. */
  poke(): void {
    if (this.stopped) return;
    if (!this.running && this.idle()) {
      this.behind = true;
      return;
    }
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
    // Listeners were told of everything up to where this drain starts: a row whose current life
    // began after it is news to them (create), whatever happened to it since; a delete stays a
    // delete (never an update). Kept for every page of the drain: a row whose life began inside
    // an earlier page may have its entry in a later one (it changed again meanwhile), and it was
    // not announced then. (A row announced in one page and changed again before the next read
    // is announced as a create twice: news of a row the listener knows, never a missed create.)
    const known = this.last;
    for (;;) {
      let send: (() => void) | null = null;
      const count = await this.storage.read(async (tx) => {
        const entries = await this.log.tail(tx, this.last, pageSize);
        if (entries.length === 0) {
          // Not `head`: it can fall below `last` when the last row announced changed again in
          // a transaction not yet servable; only a log whose highest entry is below went back.
          const top = await this.log.top(tx);
          if (comparePositions(top, this.last) < 0) {
            this.last = await this.log.liveHead(tx);
            this.onReset();
          }
          return 0;
        }
        const changes = entries.map((e): WatchedChange => ({
          position: e.position,
          version: e.position.seq,
          table: e.table,
          id: e.rowId,
          op: e.op,
          action:
            e.op === 'delete'
              ? 'delete'
              : comparePositions(e.first, known) > 0
                ? 'create'
                : 'update',
          storeId: e.storeId,
        }));
        send = await this.handle(changes, tx);
        this.last = changes[changes.length - 1].position;
        return entries.length;
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
