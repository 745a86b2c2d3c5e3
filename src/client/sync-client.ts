import { SyncManager, type SyncSummary } from './sync-manager.js';

/**
 * Automatic sync: `start()` syncs now and then every `intervalMs`
 * (PDV_SYNC_INTERVAL_MS, default 5 s); `syncNow()` syncs at once; `stop()` waits
 * for a running sync and stops the timer.
 *
 * @example
 * const client = new SyncClient('./pdv.db', { serverUrl, token });
 * client.on('status', (s) => console.log(s.state));
 * client.start();
 */
export class SyncClient extends SyncManager {
  private timer: NodeJS.Timeout | null = null;

  start(): void {
    if (this.timer) return;
    void this.syncNow();
    this.timer = setInterval(() => void this.syncNow(), this.options.intervalMs);
  }

  syncNow(): Promise<SyncSummary> {
    return this.syncAllTables();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.close();
  }
}
