import { SyncError } from '../../protocol/index.js';

export type TurnsOptions = {
  /** Operations of one key running at once; more wait their turn. */
  maxInFlight: number;
  /** Operations of one key waiting for a turn; beyond, 429. */
  maxQueued: number;
  /** What a turn is for, in the refusal's message ("heavy requests", "requests"). */
  what: string;
};

type Waiter = {
  resolve: (release: () => void) => void;
  reject: (err: Error) => void;
  signal: AbortSignal | undefined;
};

type KeyState = { inFlight: number; queue: Waiter[] };

/**
 * Turns per key (a token): at most `maxInFlight` operations of one key run at once, the next
 * `maxQueued` wait in arrival order, the rest are refused. Each key only ever waits for its
 * own turns, so a key with many operations outstanding never holds up another key. A key
 * with nothing running or waiting is forgotten at once (memory stays bounded).
 */
export class Turns {
  private readonly keys = new Map<string, KeyState>();

  constructor(readonly options: TurnsOptions) {}

  /**
   * A turn for one operation of `key`: resolves with its release (call it once the work is
   * done; extra calls do nothing), or throws RATE_LIMITED when `maxQueued` operations of the
   * key already wait. `signal` abandons the wait (the client went away): its place is given up.
   */
  acquire(key: string, signal?: AbortSignal): Promise<() => void> {
    let s = this.keys.get(key);
    if (!s) {
      s = { inFlight: 0, queue: [] };
      this.keys.set(key, s);
    }
    if (s.inFlight < this.options.maxInFlight) {
      s.inFlight++;
      return Promise.resolve(this.releaser(key, s));
    }
    if (s.queue.length >= this.options.maxQueued)
      return Promise.reject(
        new SyncError(
          'RATE_LIMITED',
          `this token already has ${s.inFlight} ${this.options.what} running and ${s.queue.length} waiting`,
          { details: { retryAfterSeconds: 1 } },
        ),
      );
    const state = s;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal };
      state.queue.push(waiter);
      signal?.addEventListener(
        'abort',
        () => {
          const i = state.queue.indexOf(waiter);
          if (i < 0) return;
          state.queue.splice(i, 1);
          this.forgetIfIdle(key, state);
          reject(wentAway());
        },
        { once: true },
      );
    });
  }

  /** Operations of `key` running now (for tests and stats). */
  inFlight(key: string): number {
    return this.keys.get(key)?.inFlight ?? 0;
  }

  /** Keys with an operation running or waiting. */
  get size(): number {
    return this.keys.size;
  }

  private releaser(key: string, s: KeyState): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      setImmediate(() => this.handOver(key, s));
    };
  }

  /**
   * A released turn is given back on the event loop's next turn, not at once. Node serves every
   * request that is ready in one turn of its event loop, each one to its end when its work is
   * synchronous (a small SQLite read, a small answer). Given back at once, a token's turn did
   * nothing: 60 cheap requests of one token ran back to back, ~180 ms, before another store's
   * request, or even a new connection, was looked at. Given back later, a token starts at most
   * `maxInFlight` operations per turn of the event loop, whatever it has outstanding.
   */
  private handOver(key: string, s: KeyState): void {
    for (let next = s.queue.shift(); next; next = s.queue.shift()) {
      if (!next.signal?.aborted) return next.resolve(this.releaser(key, s));
      next.reject(wentAway());
    }
    s.inFlight--;
    this.forgetIfIdle(key, s);
  }

  private forgetIfIdle(key: string, s: KeyState): void {
    if (s.inFlight === 0 && s.queue.length === 0 && this.keys.get(key) === s) this.keys.delete(key);
  }
}

function wentAway(): SyncError {
  return new SyncError('RATE_LIMITED', 'the client went away while waiting');
}
