import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import {
  liveCloseCodes,
  serverMessageSchema,
  type ChangesMessage,
  type ConnectionMessage,
} from '../protocol/index.js';

export type LiveState = 'connecting' | 'connected' | 'disconnected' | 'error';

export type LiveLinkOptions = {
  serverUrl: string;
  token: string;
  /** Tables to hear (names or aliases); empty = every table the token may read. */
  tables?: string[];
  /** Client heartbeat period; silence for two periods means the link is dead. */
  heartbeatMs: number;
  /** Reconnection backoff: first delay, doubling up to the cap, full jitter. */
  reconnectBaseMs: number;
  reconnectMaxMs: number;
};

type Events = {
  state: [LiveState];
  connected: [ConnectionMessage];
  changes: [ChangesMessage];
  /** The server's change log went backwards (restored database): pull now, the cursor check re-bootstraps. */
  refresh: [];
  error: [Error];
};

/**
 * The terminal's live connection to `/ws`. It only says *when* to pull: the
 * terminal pulls from its own durable cursor on every notification and on every
 * (re)connection, so whatever was missed while disconnected arrives by the same
 * path as everything else.
 *
 * Reconnection waits a random time up to min(cap, base·2^attempt) ("full
 * jitter", so a restarted server is not hit by every till at once); with the
 * default 3 s cap a till retries at least every 3 s, so it is back within 3 s of
 * the server. A close with 1008 (token refused) stops retrying: that needs a person.
 */
export class LiveLink extends EventEmitter<Events> {
  private socket: WebSocket | null = null;
  private current: LiveState = 'disconnected';
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private heardSinceBeat = true;
  private stopped = true;

  constructor(private readonly options: LiveLinkOptions) {
    super();
  }

  get state(): LiveState {
    return this.current;
  }

  /** Failed connection attempts since the last success. */
  get reconnectAttempt(): number {
    return this.attempt;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  /** Drops the current connection and connects again now (e.g. the user pressed "reconnect"). */
  reconnect(): void {
    if (this.stopped) return this.start();
    this.attempt = 0;
    this.socket?.terminate();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.stopHeartbeat();
    const socket = this.socket;
    this.socket = null;
    if (socket && socket.readyState !== socket.CLOSED) {
      const closed = new Promise((resolve) => socket.once('close', resolve));
      socket.terminate();
      await closed;
    }
    this.setState('disconnected');
  }

  private url(): string {
    const url = new URL('/ws', this.options.serverUrl.replace(/^http/, 'ws'));
    if (this.options.tables?.length) url.searchParams.set('tables', this.options.tables.join(','));
    return url.toString();
  }

  private connect(): void {
    this.retryTimer = null;
    if (this.stopped) return;
    this.setState('connecting');
    // The token goes in a header, not the URL, so it never lands in an access log.
    const socket = new WebSocket(this.url(), {
      headers: { 'x-api-key': this.options.token },
      handshakeTimeout: 10_000,
      // Notifications are small; ws would otherwise accept 100 MiB frames (PITFALLS #10).
      maxPayload: 1024 * 1024,
    });
    this.socket = socket;
    socket.on('message', (data) => {
      this.heardSinceBeat = true;
      this.onMessage((data as Buffer).toString('utf8'));
    });
    socket.on('pong', () => (this.heardSinceBeat = true));
    socket.on('ping', () => (this.heardSinceBeat = true));
    socket.on('error', (err) => {
      if (this.listenerCount('error') > 0) this.emit('error', err);
    });
    socket.on('close', (code) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.stopHeartbeat();
      if (this.stopped) return this.setState('disconnected');
      if (code === liveCloseCodes.policyViolation) {
        this.stopped = true;
        this.setState('error');
        if (this.listenerCount('error') > 0)
          this.emit(
            'error',
            new Error('the server refused the token on the live connection (1008)'),
          );
        return;
      }
      this.setState('disconnected');
      this.scheduleRetry();
    });
  }

  private onMessage(text: string): void {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return;
    }
    const parsed = serverMessageSchema.safeParse(raw);
    if (!parsed.success) return;
    const message = parsed.data;
    if (message.type === 'connection') {
      this.attempt = 0;
      this.setState('connected');
      this.startHeartbeat();
      this.emit('connected', message);
    } else if (message.type === 'changes') this.emit('changes', message);
    else if (message.type === 'refresh_required') this.emit('refresh');
  }

  private scheduleRetry(): void {
    const ceiling = Math.min(
      this.options.reconnectMaxMs,
      this.options.reconnectBaseMs * 2 ** Math.min(this.attempt, 16),
    );
    this.attempt++;
    this.retryTimer = setTimeout(() => this.connect(), Math.random() * ceiling);
    this.retryTimer.unref?.();
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    this.heardSinceBeat = true;
    this.heartbeat = setInterval(() => {
      const socket = this.socket;
      if (!socket) return;
      if (!this.heardSinceBeat) {
        socket.terminate();
        return;
      }
      this.heardSinceBeat = false;
      socket.ping();
    }, this.options.heartbeatMs);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  private setState(state: LiveState): void {
    if (state === this.current) return;
    this.current = state;
    this.emit('state', state);
  }
}
