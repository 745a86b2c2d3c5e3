import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import {
  clientMessageSchema,
  comparePositions,
  liveChannelPaths,
  liveChannels,
  liveCloseCodes,
  type LiveChannel,
  type LogPosition,
  type ServerMessage,
  type TableDef,
  type TableNames,
  type WsStats,
} from '../../protocol/index.js';
import type { DeviceRegistry, Identity } from '../auth/index.js';
import { tokenOf } from '../http/auth-hook.js';
import type { CostLimiter } from '../http/cost-limiter.js';
import { costKeyOf } from '../http/fair-share.js';
import type { Storage, SqlExecutor } from '../storage/index.js';
import { encodeCursor } from '../sync/cursor.js';
import { readableTables, type SyncMeta } from '../sync/index.js';
import { changeLogOf } from '../sync/change-log.js';
import { ChangeWatcher, type WatchedChange } from './change-watcher.js';
import { LiveConnection } from './live-connection.js';
import { PedidosFeed, type ScopedMessage } from './pedidos-feed.js';

export type LiveHubOptions = {
  heartbeatMs: number;
  maxBufferedBytes: number;
  maxConnections: number;
  /** One token's share of the slots: it cannot take every one of `maxConnections`. */
  maxConnectionsPerToken?: number;
  /** Client messages per second per connection (bursts of twice as many). */
  messageRate?: number;
  /** get_pedidos answers at most this many rows (`truncated: true` past it). */
  snapshotMaxRows?: number;
};

export type LiveHubDeps = {
  storage: Storage;
  devices: DeviceRegistry;
  names: TableNames;
  meta: SyncMeta;
  logger: Logger;
  /** Per-token budget of heavy work, shared with the HTTP routes. */
  costs?: CostLimiter;
};

/** Serialized pedido lists kept per store scope, reused while nothing was committed. */
const snapshotCacheSize = 8;

const greetings: Record<LiveChannel, string> = {
  global: 'Conectado ao canal global',
  pedidos: 'Conectado ao canal pedidos',
};

/** The text of a frame, whichever buffer shape ws handed over. */
function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return (data instanceof ArrayBuffer ? Buffer.from(data) : data).toString('utf8');
}

function refuse(socket: Duplex, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/**
 * Real-time fan-out (seed 004): WebSocket connections at `/ws` and `/ws/pedidos`,
 * fed by the change watcher in commit order and scoped like pulls (a device
 * hears global tables and its own store's rows, never upload-only tables).
 * Each message is serialized once per audience, not once per connection.
 */
export class LiveHub {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private readonly connections = new Set<LiveConnection>();
  private readonly watcher: ChangeWatcher;
  private readonly pedidos: PedidosFeed | null;
  private heartbeat: NodeJS.Timeout | null = null;
  private stopping = false;
  private stopped: Promise<void> | null = null;
  private sent = 0;
  private dropped = 0;
  private cut = 0;
  private readonly perToken = new Map<string, number>();
  private reads = 0;
  /** Snapshot reads run one at a time, so a flood of them cannot take every core from writes. */
  private snapshotChain: Promise<unknown> = Promise.resolve();
  private readonly snapshotCache = new Map<
    string,
    { head: LogPosition; json: string; truncated: boolean }
  >();

  constructor(
    private readonly deps: LiveHubDeps,
    private readonly options: LiveHubOptions,
  ) {
    const pedidos = deps.names.resolve('pedidos');
    this.pedidos = pedidos ? new PedidosFeed(deps.storage, pedidos) : null;
    this.watcher = new ChangeWatcher(
      deps.storage,
      (changes, tx) => this.fanOut(changes, tx),
      (err) => deps.logger.error({ err }, 'live feed: reading the change log failed'),
      () => {
        deps.logger.warn('live feed: the change log went backwards (restored database?)');
        this.snapshotCache.clear();
        const data = JSON.stringify({
          type: 'refresh_required',
          message: 'Por favor, recarregue os dados',
          timestamp: new Date().toISOString(),
        } satisfies ServerMessage);
        for (const conn of this.connections) this.deliver(conn, data);
      },
      () => this.connections.size === 0,
    );
  }

  async start(): Promise<void> {
    await this.watcher.start();
    this.heartbeat = setInterval(() => void this.beat(), this.options.heartbeatMs).unref();
  }

  /** Wired to the HTTP server's `upgrade` event. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    const url = new URL(request.url ?? '/', 'http://localhost');
    const channel = liveChannelPaths[url.pathname];
    if (!channel) return refuse(socket, '404 Not Found');
    // A stopping process must not take back the clients it is sending away.
    if (this.stopping) return refuse(socket, '503 Service Unavailable');
    if (this.connections.size >= this.options.maxConnections)
      return refuse(socket, '503 Service Unavailable');
    const token = url.searchParams.get('token') || tokenOf(request);
    const identity = token ? this.deps.devices.authenticate(token) : Promise.resolve(null);
    // The feed skips the log while nobody listens: caught up before this client's greeting.
    const caughtUp = this.watcher.resume().then(
      (moved) => {
        // The cached lists were not told of what committed meanwhile.
        if (moved) this.snapshotCache.clear();
      },
      // The feed then announces from where it was: more to send, nothing missed.
      (err: unknown) => this.deps.logger.error({ err }, 'live feed: catching up failed'),
    );
    Promise.all([identity, caughtUp]).then(
      ([who]) =>
        this.wss.handleUpgrade(request, socket, head, (ws) => {
          // Accept, then close with 1008: a browser sees the code, not a bare failed handshake.
          if (!who) {
            this.deps.logger.info(
              { channel },
              'live: connection refused (missing or unknown token)',
            );
            ws.close(
              liveCloseCodes.policyViolation,
              'unauthorized: missing, unknown or revoked token',
            );
            return;
          }
          const share = this.options.maxConnectionsPerToken ?? Infinity;
          if ((this.perToken.get(who.tokenHash) ?? 0) >= share) {
            this.deps.logger.info(
              { machineId: who.machineId, channel, share },
              'live: connection refused (token holds its share of slots)',
            );
            ws.close(liveCloseCodes.tryAgainLater, `this token already holds ${share} connections`);
            return;
          }
          this.accept(ws, who, channel, url);
        }),
      (err: unknown) => {
        this.deps.logger.error({ err }, 'live: authentication failed');
        refuse(socket, '503 Service Unavailable');
      },
    );
  }

  private accept(ws: WebSocket, identity: Identity, channel: LiveChannel, url: URL): void {
    const readable = this.readable(identity, channel);
    const conn = new LiveConnection(
      ws,
      identity,
      channel,
      readable,
      this.options.maxBufferedBytes,
      this.options.messageRate,
    );
    this.perToken.set(identity.tokenHash, (this.perToken.get(identity.tokenHash) ?? 0) + 1);
    const asked = url.searchParams.get('tables');
    if (asked && channel === 'global') this.subscribe(conn, asked.split(','));
    this.connections.add(conn);
    // A commit between the catch-up and now found nobody listening: read it now.
    this.watcher.poke();
    ws.on('pong', () => (conn.alive = true));
    ws.on('message', (data, isBinary) => void this.onMessage(conn, data, isBinary));
    ws.on('close', () => {
      this.connections.delete(conn);
      const left = (this.perToken.get(identity.tokenHash) ?? 1) - 1;
      if (left > 0) this.perToken.set(identity.tokenHash, left);
      else this.perToken.delete(identity.tokenHash);
      this.deps.logger.debug({ machineId: identity.machineId, channel }, 'live: disconnected');
    });
    ws.on('error', () => undefined);
    this.deps.logger.debug({ machineId: identity.machineId, channel }, 'live: connected');
    this.send(conn, {
      type: 'connection',
      status: 'connected',
      channel,
      message: greetings[channel],
      cursor: encodeCursor(this.deps.meta.databaseId, this.watcher.position),
      heartbeatMs: this.options.heartbeatMs,
      timestamp: new Date().toISOString(),
    });
  }

  private readable(identity: Identity, channel: LiveChannel): TableDef[] {
    const tables = readableTables(identity, this.deps.names.tables);
    return channel === 'pedidos'
      ? tables.filter((t) => t.name === this.pedidos?.table.name)
      : tables;
  }

  private subscribe(conn: LiveConnection, names: string[]): void {
    const readable = this.readable(conn.identity, conn.channel);
    const wanted = names.map((n) => n.trim()).filter(Boolean);
    const unknown = wanted.filter((n) => !readable.includes(this.deps.names.resolve(n)!));
    if (unknown.length)
      this.error(conn, 'UNKNOWN_TABLE', `not readable with this token: ${unknown.join(', ')}`);
    const chosen = wanted
      .map((n) => this.deps.names.resolve(n))
      .filter((t): t is TableDef => t !== undefined && readable.includes(t));
    conn.subscribe(wanted.length ? chosen : readable);
  }

  private async onMessage(conn: LiveConnection, data: RawData, isBinary: boolean): Promise<void> {
    conn.alive = true;
    // Per-connection message rate: past it, messages are dropped (one notice per second).
    if (!conn.takeMessage()) {
      if (conn.shouldNotifyLimit())
        this.error(conn, 'RATE_LIMITED', 'too many messages on this connection; slow down');
      return;
    }
    let parsed: unknown;
    try {
      parsed = isBinary ? undefined : JSON.parse(rawText(data));
    } catch {
      parsed = undefined;
    }
    const message = clientMessageSchema.safeParse(parsed);
    if (!message.success)
      return this.error(
        conn,
        'VALIDATION_FAILED',
        'expected {"type":"ping"|"get_pedidos"|"subscribe"}',
      );
    const now = new Date().toISOString();
    switch (message.data.type) {
      case 'ping':
        return void this.send(conn, { type: 'pong', timestamp: now });
      case 'subscribe':
        if (conn.channel !== 'global')
          return this.error(conn, 'VALIDATION_FAILED', 'subscribe is for the /ws channel');
        return this.subscribe(conn, message.data.tables);
      case 'get_pedidos':
        return this.getPedidos(conn);
    }
  }

  /**
   * Answers get_pedidos from a bounded snapshot (PITFALLS #20): repeats while one is
   * being answered are coalesced into it; snapshots are read one at a time and the
   * serialized list is reused while nothing was committed; the token's cost budget
   * is charged the bytes sent; a connection gone before its turn costs nothing.
   */
  private async getPedidos(conn: LiveConnection): Promise<void> {
    const feed = this.pedidos;
    if (!feed) return this.error(conn, 'UNKNOWN_TABLE', 'this server has no pedidos table');
    if (conn.snapshotPending) return;
    const key = costKeyOf(conn.identity);
    const wait = this.deps.costs?.retryAfterSeconds(key) ?? 0;
    if (wait > 0) {
      if (conn.shouldNotifyLimit())
        this.error(conn, 'RATE_LIMITED', `this token read more than its share; retry in ${wait} s`);
      return;
    }
    conn.snapshotPending = true;
    const turn = this.snapshotChain.then(async () => {
      if (!conn.open) return null;
      const storeId = conn.identity.role === 'admin' ? null : conn.identity.storeId;
      return this.snapshot(feed, storeId);
    });
    this.snapshotChain = turn.catch(() => undefined);
    try {
      const snap = await turn;
      if (!snap || !conn.open) return;
      const data = `{"type":"pedidos","pedidos":${snap.json},${snap.truncated ? '"truncated":true,' : ''}"cursor":${JSON.stringify(encodeCursor(this.deps.meta.databaseId, snap.head))},"timestamp":"${new Date().toISOString()}"}`;
      this.deps.costs?.charge(key, data.length);
      this.deliver(conn, data);
    } catch (err) {
      this.deps.logger.error({ err }, 'live: get_pedidos failed');
      this.error(conn, 'INTERNAL', 'the pedidos list could not be read; retry');
    } finally {
      conn.snapshotPending = false;
    }
  }

  private async snapshot(
    feed: PedidosFeed,
    storeId: string | null,
  ): Promise<{ head: LogPosition; json: string; truncated: boolean }> {
    const scope = storeId ?? '*';
    const max = this.options.snapshotMaxRows ?? 10_000;
    return this.deps.storage.read(async (tx) => {
      const head = await changeLogOf(this.deps.storage).head(tx);
      const cached = this.snapshotCache.get(scope);
      if (cached && comparePositions(cached.head, head) === 0) return cached;
      this.reads++;
      const rows = await feed.snapshot(tx, storeId, max + 1);
      const entry = {
        head,
        json: JSON.stringify(rows.slice(0, max)),
        truncated: rows.length > max,
      };
      this.snapshotCache.delete(scope);
      this.snapshotCache.set(scope, entry);
      if (this.snapshotCache.size > snapshotCacheSize)
        this.snapshotCache.delete(this.snapshotCache.keys().next().value!);
      return entry;
    });
  }

  private error(conn: LiveConnection, code: string, message: string): void {
    this.send(conn, { type: 'error', code, message, timestamp: new Date().toISOString() });
  }

  private send(conn: LiveConnection, message: ServerMessage): void {
    this.deliver(conn, JSON.stringify(message));
  }

  private deliver(conn: LiveConnection, data: string): void {
    const outcome = conn.send(data);
    if (outcome === 'sent') this.sent++;
    else {
      this.dropped++;
      if (outcome === 'cut') {
        this.cut++;
        this.deps.logger.warn(
          { machineId: conn.identity.machineId, channel: conn.channel },
          'live: slow consumer cut off (send buffer full)',
        );
      }
    }
  }

  /**
   * One batch of committed changes, in position order, to every connection that may hear
   * them: pedido rows are read in the watcher's snapshot, sending happens after it.
   */
  private async fanOut(changes: WatchedChange[], tx: SqlExecutor): Promise<() => void> {
    // A committed pedido change (even one that committed after a higher seq, on
    // PostgreSQL) makes the cached lists of its store stale.
    const pedidosTable = this.pedidos?.table.name;
    for (const c of changes)
      if (c.table !== pedidosTable) continue;
      else if (c.storeId === null) this.snapshotCache.clear();
      else {
        this.snapshotCache.delete(c.storeId);
        this.snapshotCache.delete('*');
      }
    if (this.connections.size === 0) return () => undefined;
    const pedidoMessages =
      this.pedidos && [...this.connections].some((c) => c.channel === 'pedidos')
        ? await this.pedidos.messages(changes, tx, (c) =>
            encodeCursor(this.deps.meta.databaseId, c.position),
          )
        : [];
    return () => this.broadcast(changes, pedidoMessages);
  }

  private broadcast(changes: WatchedChange[], pedidoMessages: ScopedMessage[]): void {
    const cursor = encodeCursor(this.deps.meta.databaseId, changes[changes.length - 1].position);
    const timestamp = new Date().toISOString();
    const audiences = new Map<string, LiveConnection[]>();
    for (const conn of this.connections) {
      const members = audiences.get(conn.audienceKey);
      if (members) members.push(conn);
      else audiences.set(conn.audienceKey, [conn]);
    }
    for (const members of audiences.values()) {
      const first = members[0];
      if (first.channel !== 'global') continue;
      const heard = changes.filter((c) => first.hears(c.table, c.storeId));
      if (heard.length === 0) continue;
      const data = JSON.stringify({
        type: 'changes',
        cursor,
        changes: heard.map((c) => ({
          table: c.table,
          id: c.id,
          op: c.op,
          action: c.action,
          version: c.version,
        })),
        timestamp,
      } satisfies ServerMessage);
      for (const conn of members) this.deliver(conn, data);
    }
    const pedidos = this.pedidos;
    if (!pedidos || pedidoMessages.length === 0) return;
    const serialized = pedidoMessages.map((m) => ({ ...m, data: JSON.stringify(m.message) }));
    for (const members of audiences.values()) {
      const first = members[0];
      if (first.channel !== 'pedidos') continue;
      for (const m of serialized)
        if (first.hears(pedidos.table.name, m.storeId))
          for (const conn of members) this.deliver(conn, m.data);
    }
  }

  /** Drops connections silent since the last beat, pings the rest, closes revoked tokens. */
  private async beat(): Promise<void> {
    for (const conn of this.connections) {
      if (!conn.alive) {
        conn.socket.terminate();
        this.connections.delete(conn);
        continue;
      }
      conn.alive = false;
      conn.socket.ping();
    }
    const hashes = [...new Set([...this.connections].map((c) => c.identity.tokenHash))];
    if (hashes.length === 0) return;
    try {
      const valid = await this.deps.devices.stillValid(hashes);
      for (const conn of this.connections)
        if (!valid.has(conn.identity.tokenHash))
          conn.socket.close(liveCloseCodes.policyViolation, 'token revoked');
    } catch (err) {
      this.deps.logger.warn({ err }, 'live: token re-check failed');
    }
  }

  /** Pedido lists read from the database for get_pedidos (cache hits and dropped work excluded). */
  get snapshotReads(): number {
    return this.reads;
  }

  stats(): WsStats {
    const byType: Record<string, number> = Object.fromEntries(liveChannels.map((c) => [c, 0]));
    for (const conn of this.connections) byType[conn.channel] = (byType[conn.channel] ?? 0) + 1;
    return {
      total_connections: this.connections.size,
      connections_by_type: byType,
      active_types: Object.keys(byType).filter((k) => (byType[k] ?? 0) > 0),
      messages_sent: this.sent,
      messages_dropped: this.dropped,
      slow_consumers_cut: this.cut,
      announced_cursor: encodeCursor(this.deps.meta.databaseId, this.watcher.position),
    };
  }

  /** Closes every connection (1001) and stops the feed; calling it again waits for the first call. */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    await this.watcher.stop();
    for (const conn of this.connections)
      conn.socket.close(liveCloseCodes.goingAway, 'server shutting down');
    // Let the close frames go out (clients then reconnect at once), but not for long.
    for (let waited = 0; this.connections.size > 0 && waited < 1000; waited += 20)
      await new Promise((resolve) => setTimeout(resolve, 20));
    for (const conn of this.connections) conn.socket.terminate();
    this.connections.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
