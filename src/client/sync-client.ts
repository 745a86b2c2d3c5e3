import { LiveLink, type LiveState } from './live-link.js';
import { SyncManager, type SyncSummary } from './sync-manager.js';

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
  private timer: NodeJS.Timeout | null = null;
  private link: LiveLink | null = null;
  private inFlight: Promise<SyncSummary> | null = null;
  private again = false;
  private readonly liveListeners = new Set<(state: LiveState) => void>();

  start(): void {
    if (this.timer) return;
    void this.requestSync();
    this.timer = setInterval(() => void this.requestSync(), this.options.intervalMs);
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

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.link?.stop();
    this.link = null;
    await this.inFlight?.catch(() => undefined);
    await this.close();
  }
}
