import type { WebSocket } from 'ws';
import { liveCloseCodes, type LiveChannel, type TableDef } from '../../protocol/index.js';
import type { Identity } from '../auth/index.js';

export type SendOutcome = 'sent' | 'cut' | 'closed';

/**
 * One client socket and what it may hear. Sending never queues without bound:
 * past `maxBufferedBytes` not yet written to the network, the connection is cut
 * (the client reconnects and pulls from its cursor, so it loses nothing).
 */
export class LiveConnection {
  alive = true;
  /** Tables this connection hears (global channel); readable ones only. */
  tables: ReadonlySet<string>;
  /** Connections with the same key get byte-identical messages, serialized once. */
  audienceKey: string;

  /** A get_pedidos is being answered: repeats are coalesced into that answer. */
  snapshotPending = false;
  /** Message budget (token bucket, refilled at `messageRate` per second, bursts of twice that). */
  private allowance: number;
  private lastRefill = performance.now();
  // -Infinity, not 0: performance.now() starts near 0, and a flood in the process's first second must still hear one notice.
  private lastLimitNotice = Number.NEGATIVE_INFINITY;

  constructor(
    readonly socket: WebSocket,
    readonly identity: Identity,
    readonly channel: LiveChannel,
    readable: readonly TableDef[],
    private readonly maxBufferedBytes: number,
    private readonly messageRate = 10,
  ) {
    this.allowance = messageRate * 2;
    this.tables = new Set(readable.map((t) => t.name));
    this.audienceKey = this.keyOf();
  }

  subscribe(tables: readonly TableDef[]): void {
    this.tables = new Set(tables.map((t) => t.name));
    this.audienceKey = this.keyOf();
  }

  /** May this connection hear a change of `table` in store `storeId` (null = a global table)? */
  hears(table: string, storeId: string | null): boolean {
    if (!this.tables.has(table)) return false;
    return this.identity.role === 'admin' || storeId === null || storeId === this.identity.storeId;
  }

  get open(): boolean {
    return this.socket.readyState === this.socket.OPEN;
  }

  /** May one more client message be handled now? Over the rate, messages are dropped. */
  takeMessage(): boolean {
    const now = performance.now();
    this.allowance = Math.min(
      this.messageRate * 2,
      this.allowance + ((now - this.lastRefill) / 1000) * this.messageRate,
    );
    this.lastRefill = now;
    if (this.allowance < 1) return false;
    this.allowance -= 1;
    return true;
  }

  /** At most one "rate limited" notice per second, so a flood is not answered by a flood. */
  shouldNotifyLimit(): boolean {
    const now = performance.now();
    if (now - this.lastLimitNotice < 1000) return false;
    this.lastLimitNotice = now;
    return true;
  }

  send(data: string): SendOutcome {
    if (this.socket.readyState !== this.socket.OPEN) return 'closed';
    if (this.socket.bufferedAmount > this.maxBufferedBytes) {
      this.cut();
      return 'cut';
    }
    this.socket.send(data);
    return 'sent';
  }

  private cut(): void {
    this.socket.close(liveCloseCodes.tooSlow, 'too slow: reconnect and pull from your cursor');
    // The close frame waits behind the unread data; do not hold the buffer for long.
    setTimeout(() => this.socket.terminate(), 1000).unref();
  }

  private keyOf(): string {
    const scope = this.identity.role === 'admin' ? '*' : `s:${this.identity.storeId}`;
    return `${this.channel}|${scope}|${[...this.tables].sort().join(',')}`;
  }
}
