import { SyncError } from '../../protocol/index.js';
import { Turns } from './turns.js';

export type CostLimiterOptions = {
  /** Cost units (bytes read or written) a key may spend at once: a first sync fits in it. */
  burst: number;
  /** Units given back per second. */
  ratePerSecond: number;
  /** Heavy operations of one key running at once; more wait their turn. */
  maxInFlight: number;
  /** Operations of one key waiting for a turn; beyond, 429. */
  maxQueued: number;
};

type KeyState = { tokens: number; last: number };

/** Keys idle with a full bucket are forgotten after this many operations (bounded memory). */
const sweepEvery = 1024;

/**
 * Cost-aware fair sharing (PITFALLS #20): a 10,000-row read must not count like a
 * ping. Each key (a token) has a bucket of cost units — bytes a request read or
 * wrote, or rows times a weight — refilled at a steady rate, and a small number of
 * heavy operations in flight. A key in debt is answered 429 with the seconds until
 * it may spend again; its queued operations never hold up other keys, since each
 * key only ever waits for its own turns.
 *
 * API for routes: `acquire(key)` before heavy work (hold the returned release until
 * the answer is sent), `charge(key, units)` for the work done, `check(key)` for a
 * cheap test without a turn (WebSocket messages).
 */
export class CostLimiter {
  private readonly keys = new Map<string, KeyState>();
  private readonly turns: Turns;
  private ops = 0;

  constructor(
    readonly options: CostLimiterOptions,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.turns = new Turns({ ...options, what: 'heavy requests' });
  }

  private state(key: string): KeyState {
    if (++this.ops % sweepEvery === 0) this.sweep();
    let s = this.keys.get(key);
    if (!s) {
      s = { tokens: this.options.burst, last: this.now() };
      this.keys.set(key, s);
    }
    const t = this.now();
    s.tokens = Math.min(
      this.options.burst,
      s.tokens + ((t - s.last) / 1000) * this.options.ratePerSecond,
    );
    s.last = t;
    return s;
  }

  /** Seconds until `key` may spend again (0: now). */
  retryAfterSeconds(key: string): number {
    const s = this.state(key);
    return s.tokens >= 0 ? 0 : Math.ceil(-s.tokens / this.options.ratePerSecond);
  }

  /** Throws RATE_LIMITED when `key` has spent more than its share. */
  check(key: string): void {
    const wait = this.retryAfterSeconds(key);
    if (wait > 0)
      throw new SyncError(
        'RATE_LIMITED',
        `this token read or wrote more than its share (${this.options.burst} bytes at once, ${this.options.ratePerSecond}/s); retry in ${wait} s`,
        { details: { retryAfterSeconds: wait } },
      );
  }

  /** Records work done by `key` (may push it into debt: the next heavy request waits). */
  charge(key: string, units: number): void {
    if (!(units > 0)) return;
    this.state(key).tokens -= units;
  }

  /**
   * A turn for one heavy operation of `key`: resolves with its release (call it
   * once, when the answer has been sent), or throws RATE_LIMITED when the key is
   * in debt or already has `maxQueued` operations waiting. `signal` abandons the
   * wait (the client went away): its place in the queue is given up.
   */
  acquire(key: string, signal?: AbortSignal): Promise<() => void> {
    this.check(key);
    return this.turns.acquire(key, signal);
  }

  /** Keys currently tracked (for tests and stats). */
  get size(): number {
    return this.keys.size;
  }

  private sweep(): void {
    const t = this.now();
    for (const [key, s] of this.keys) {
      const tokens = s.tokens + ((t - s.last) / 1000) * this.options.ratePerSecond;
      if (tokens >= this.options.burst) this.keys.delete(key);
    }
  }
}
