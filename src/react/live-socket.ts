import { liveCloseCodes, serverMessageSchema, type ServerMessage } from '../protocol/live.js';

export const connectionStates = ['connected', 'connecting', 'disconnected', 'error'] as const;
/**
 * - `connecting`: a socket is opening, or a retry is scheduled (`reconnectAttempt > 0`);
 * - `connected`: the socket is open;
 * - `disconnected`: closed and not retrying (closed on purpose, or `autoReconnect: false`);
 * - `error`: gave up: the server refused the token (close 1008) or `maxReconnectAttempts` ran out.
 */
export type ConnectionState = (typeof connectionStates)[number];

export type LiveSocketOptions = {
  /** Reconnect after the connection drops (default true). */
  autoReconnect?: boolean | undefined;
  /**
   * Longest wait between two attempts, in ms (default 3000). Waits grow from 250 ms, doubling,
   * up to this ceiling, each drawn uniformly below its ceiling (full jitter), so a fleet of tills
   * does not reconnect in step and a retry happens at least this often.
   */
  reconnectInterval?: number | undefined;
  /** Attempts before giving up with state `error` (default Infinity). */
  maxReconnectAttempts?: number | undefined;
  /** Send `{"type":"ping"}` periodically and drop a silent connection (default true). */
  heartbeat?: boolean | undefined;
  /** Ping period in ms (default 30000); silence for two periods counts as a dead connection. */
  heartbeatInterval?: number | undefined;
};

export type LiveSocketSnapshot = {
  state: ConnectionState;
  /** Number of the retry under way (1, 2, …); 0 once the server has sent a message. */
  reconnectAttempt: number;
  /** Why the state is `error` (or the last failure while retrying). */
  error: LiveSocketError | null;
};

export type DisconnectInfo = { code: number; reason: string; willReconnect: boolean };

export type LiveSocketEvents = {
  onMessage?: ((message: ServerMessage) => void) | undefined;
  onConnect?: (() => void) | undefined;
  onDisconnect?: ((info: DisconnectInfo) => void) | undefined;
  onError?: ((error: LiveSocketError) => void) | undefined;
  /** Any change of the snapshot. */
  onChange?: ((snapshot: LiveSocketSnapshot) => void) | undefined;
};

/** `unauthorized`: close 1008 (missing, unknown or revoked token); not retried. */
export type LiveSocketErrorCode = 'unauthorized' | 'gave-up' | 'connection-failed' | 'bad-message';

export class LiveSocketError extends Error {
  constructor(
    readonly code: LiveSocketErrorCode,
    message: string,
    readonly closeCode?: number,
  ) {
    super(message);
    this.name = 'LiveSocketError';
  }
}

/** The subset of the browser `WebSocket` this class uses (the `ws` package fits it too). */
export type WebSocketLike = {
  readonly readyState: number;
  // Handlers take `never` so that both the DOM's and ws's event types fit; ours declare what they read.
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
};
export type WebSocketFactory = (url: string) => WebSocketLike;

const firstDelayMs = 250;
const open = 1;

/** Full-jitter exponential backoff: uniform in [0, min(cap, 250 ms × 2^(attempt-1))]. */
export function reconnectDelay(attempt: number, capMs: number, random = Math.random): number {
  const ceiling = Math.min(capMs, firstDelayMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  return Math.floor(random() * ceiling);
}

/** Turns an API URL (`http://host:3001`) into a channel URL (`ws://host:3001/ws/pedidos?token=…`). */
export function liveChannelUrl(serverUrl: string, path: string, token: string): string {
  // Joined, not resolved: a server behind a path prefix (`https://host/pdv`) keeps it.
  const url = new URL(`${serverUrl.replace(/^http/i, 'ws').replace(/\/+$/, '')}${path}`);
  url.searchParams.set('token', token);
  return url.toString();
}

/**
 * One self-healing WebSocket to a pdv-sync channel, without React. Messages are
 * validated against the protocol's schemas; a close with 1008 (bad token) is
 * final, any other drop is retried with backoff until `close()` or the attempts
 * run out. The token travels in the query string: browsers cannot set headers on
 * a WebSocket.
 *
 * | state \ event  | open          | message           | close 1008 | other close / silence (2 beats)         | close()      | reconnect()  |
 * | -------------- | ------------- | ----------------- | ---------- | --------------------------------------- | ------------ | ------------ |
 * | `connecting`   | `connected`   | —                 | `error`    | retry n+1 after backoff, or `error` (¹) | disconnected | connecting   |
 * | `connected`    | —             | attempt count → 0 | `error`    | retry n+1 after backoff, or `error` (¹) | disconnected | connecting   |
 * | `disconnected` | —             | —                 | —          | —                                       | —            | connecting   |
 * | `error`        | —             | —                 | —          | —                                       | disconnected | connecting   |
 *
 * (¹) `error` once `maxReconnectAttempts` retries failed; `disconnected` when `autoReconnect` is false.
 *
 * @example
 * const socket = new LiveSocket(liveChannelUrl(apiUrl, '/ws/pedidos', token), {}, {
 *   onMessage: (m) => console.log(m.type),
 * });
 * socket.connect();
 */
export class LiveSocket {
  private ws: WebSocketLike | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private lastHeard = 0;
  private stopped = true;
  private snap: LiveSocketSnapshot = { state: 'disconnected', reconnectAttempt: 0, error: null };
  private readonly opts: {
    autoReconnect: boolean;
    reconnectInterval: number;
    maxReconnectAttempts: number;
    heartbeat: boolean;
    heartbeatInterval: number;
  };

  constructor(
    readonly url: string,
    options: LiveSocketOptions = {},
    private readonly events: LiveSocketEvents = {},
    private readonly factory: WebSocketFactory = (u) => new WebSocket(u),
  ) {
    this.opts = {
      autoReconnect: options.autoReconnect ?? true,
      reconnectInterval: options.reconnectInterval ?? 3000,
      maxReconnectAttempts: options.maxReconnectAttempts ?? Infinity,
      heartbeat: options.heartbeat ?? true,
      heartbeatInterval: options.heartbeatInterval ?? 30_000,
    };
  }

  get snapshot(): LiveSocketSnapshot {
    return this.snap;
  }

  /** Opens the connection (no-op when already open or opening). */
  connect(): void {
    this.stopped = false;
    if (this.ws) return;
    this.clearRetry();
    this.open();
  }

  /** Drops the current connection, if any, and connects again at once with a fresh attempt count. */
  reconnect(): void {
    this.stopped = false;
    this.clearRetry();
    this.detach(1000, 'reconnect requested');
    this.update({ reconnectAttempt: 0, error: null });
    this.open();
  }

  /** Closes for good: no retry until `connect()` or `reconnect()`. */
  close(): void {
    this.stopped = true;
    this.clearRetry();
    this.detach(1000, 'closed by the client');
    this.update({ state: 'disconnected', reconnectAttempt: 0 });
  }

  /** Sends a message when open; returns false (and sends nothing) otherwise. */
  send(message: unknown): boolean {
    if (!this.ws || this.ws.readyState !== open) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  private open(): void {
    let ws: WebSocketLike;
    try {
      ws = this.factory(this.url);
    } catch (err) {
      this.fail(new LiveSocketError('connection-failed', String(err)));
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    this.update({ state: 'connecting' });
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.lastHeard = Date.now();
      this.startHeartbeat();
      this.update({ state: 'connected' });
      this.events.onConnect?.();
    };
    ws.onmessage = (event: { data: unknown }) => {
      if (this.ws !== ws) return;
      this.lastHeard = Date.now();
      let parsed: unknown;
      try {
        parsed = typeof event.data === 'string' ? JSON.parse(event.data) : undefined;
      } catch {
        parsed = undefined;
      }
      const message = serverMessageSchema.safeParse(parsed);
      if (!message.success) {
        this.events.onError?.(
          new LiveSocketError('bad-message', 'the server sent a message this client cannot read'),
        );
        return;
      }
      // The attempt count restarts once the server has spoken, not at the handshake: a server
      // that accepts and then dies (or never answers) keeps the backoff growing.
      this.update({ reconnectAttempt: 0, error: null });
      this.events.onMessage?.(message.data);
    };
    ws.onerror = () => {
      // Always followed by close, which decides what happens next.
    };
    ws.onclose = (event: { code: number; reason: string }) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.stopHeartbeat();
      this.onClosed(event.code, event.reason);
    };
  }

  private onClosed(code: number, reason: string): void {
    if (code === liveCloseCodes.policyViolation) {
      this.stopped = true;
      const error = new LiveSocketError(
        'unauthorized',
        `the server refused the token (${reason || 'close 1008'})`,
        code,
      );
      this.update({ state: 'error', error });
      this.events.onError?.(error);
      this.events.onDisconnect?.({ code, reason, willReconnect: false });
      return;
    }
    const willReconnect =
      !this.stopped &&
      this.opts.autoReconnect &&
      this.snap.reconnectAttempt < this.opts.maxReconnectAttempts;
    this.events.onDisconnect?.({ code, reason, willReconnect });
    if (this.stopped) return this.update({ state: 'disconnected' });
    if (!this.opts.autoReconnect) return this.update({ state: 'disconnected' });
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.stopped) return;
    const attempt = this.snap.reconnectAttempt + 1;
    if (attempt > this.opts.maxReconnectAttempts) {
      const error = new LiveSocketError(
        'gave-up',
        `no connection after ${this.opts.maxReconnectAttempts} attempts`,
      );
      this.stopped = true;
      this.update({ state: 'error', error });
      this.events.onError?.(error);
      return;
    }
    this.update({ state: 'connecting', reconnectAttempt: attempt });
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = null;
        if (!this.stopped && !this.ws) this.open();
      },
      reconnectDelay(attempt, this.opts.reconnectInterval),
    );
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    if (!this.opts.heartbeat) return;
    const period = this.opts.heartbeatInterval;
    this.pingTimer = setInterval(() => {
      if (Date.now() - this.lastHeard > 2 * period) {
        // Silent for two periods: the link is dead even if the socket has not noticed.
        const ws = this.ws;
        this.ws = null;
        this.stopHeartbeat();
        if (ws) {
          ws.onclose = null;
          ws.onerror = () => undefined;
          ws.close(liveCloseCodes.heartbeatTimeout, 'no answer to heartbeat');
        }
        this.onClosed(liveCloseCodes.heartbeatTimeout, 'no answer to heartbeat');
        return;
      }
      this.send({ type: 'ping' });
    }, period);
  }

  private stopHeartbeat(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private detach(code: number, reason: string): void {
    const ws = this.ws;
    this.ws = null;
    this.stopHeartbeat();
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onclose = null;
    ws.onerror = () => undefined;
    ws.close(code, reason);
    this.events.onDisconnect?.({ code, reason, willReconnect: !this.stopped });
  }

  private fail(error: LiveSocketError): void {
    this.update({ error });
    this.events.onError?.(error);
  }

  private update(patch: Partial<LiveSocketSnapshot>): void {
    const next = { ...this.snap, ...patch };
    if (
      next.state === this.snap.state &&
      next.reconnectAttempt === this.snap.reconnectAttempt &&
      next.error === this.snap.error
    )
      return;
    this.snap = next;
    this.events.onChange?.(next);
  }
}
