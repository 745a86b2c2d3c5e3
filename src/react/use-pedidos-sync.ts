import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { PedidoUpdateMessage, ServerMessage, StatusUpdateMessage } from '../protocol/live.js';
import { liveChannelUrl, type ConnectionState, type LiveSocketOptions } from './live-socket.js';
import {
  applyConfirmedWrite,
  applyList,
  applyPedidoUpdate,
  applyServerRow,
  applySnapshot,
  applyStatusUpdate,
  emptyPedidosState,
  type Pedido,
  type PedidosState,
} from './pedidos-state.js';
import { SyncApi, SyncRequestError, WriteRejectedError, newId } from './sync-api.js';
import { useWebSocket, type UseWebSocketOptions } from './use-web-socket.js';

export type SyncLogType = 'success' | 'error' | 'websocket' | 'connection';

/** One line of `syncLog` (seed 004). */
export type SyncLogEntry = {
  /** ISO 8601. */
  timestamp: string;
  type: SyncLogType;
  message: string;
  data?: unknown;
};

export type UsePedidosSyncOptions = LiveSocketOptions & {
  /** API base URL, e.g. `http://192.168.0.10:3001`; the WebSocket URL is derived from it. */
  serverUrl: string;
  /** Device token: the hook sees and writes its store's pedidos only. */
  token: string;
  /** Ask the server for the whole list on every (re)connection (default true). */
  autoFetch?: boolean | undefined;
  /** A pedido created, changed (row) or deleted (null) by anyone, as committed. */
  onPedidoUpdate?: ((pedido: Pedido | null, message: PedidoUpdateMessage) => void) | undefined;
  /** A pedido's status changed. */
  onStatusUpdate?: ((message: StatusUpdateMessage) => void) | undefined;
  /** Entries kept in `syncLog` (default 100, newest last). */
  maxLogEntries?: number | undefined;
  webSocketFactory?: UseWebSocketOptions['webSocketFactory'];
};

/** A new pedido: `id` (default a UUID), `store_id` (default the token's store), `status` (default `novo`). */
export type NewPedido = Partial<Pedido>;

export type UsePedidosSyncResult = {
  pedidos: readonly Pedido[];
  isLoading: boolean;
  error: Error | null;
  lastSync: Date | null;
  syncLog: readonly SyncLogEntry[];
  wsConnected: boolean;
  wsState: ConnectionState;
  reconnectAttempt: number;
  /** Asks the server for the whole list (over the WebSocket when connected, else over HTTP). */
  fetchPedidos: () => Promise<readonly Pedido[]>;
  /** Refreshes the list and returns the pedido, or null when it does not exist. */
  fetchPedidoById: (id: Pedido['id']) => Promise<Pedido | null>;
  /** Writes the given columns; the list changes once the server confirmed. */
  updatePedido: (id: Pedido['id'], data: Partial<Pedido>) => Promise<Pedido | null>;
  createPedido: (data: NewPedido) => Promise<Pedido | null>;
  deletePedido: (id: Pedido['id']) => Promise<void>;
  wsReconnect: () => void;
};

type PendingFetch = {
  resolve: (pedidos: readonly Pedido[]) => void;
  reject: (err: Error) => void;
} | null;

const fetchTimeoutMs = 15_000;

/**
 * The pedidos of the token's store, kept current in real time (seed 004).
 *
 * - On every (re)connection the hook asks for the whole list, so nothing written
 *   while it was disconnected is missed; live `pedido_update` / `status_update`
 *   messages are applied after it, and a message older than what the hook knows
 *   of its pedido is ignored (see `pedidos-state.ts`).
 * - Writes go to `POST /api/sync/push` as one mutation with a fresh event id.
 *   Local state changes **only after the server confirmed** (`applied`); on
 *   `conflict` or `rejected` nothing changes locally (a conflict adopts the
 *   server's row), the error is logged and thrown as `WriteRejectedError` with
 *   the server's reason. Network failures throw `SyncRequestError`. Writes are not
 *   retried: calling again sends a new event.
 *
 * @example
 * const { pedidos, wsConnected, updatePedido } = usePedidosSync({
 *   serverUrl: 'http://192.168.0.10:3001',
 *   token: deviceToken,
 * });
 * await updatePedido(pedido.id, { status: 'pronto' }); // resolves after the server applied it
 */
export function usePedidosSync(options: UsePedidosSyncOptions): UsePedidosSyncResult {
  const { serverUrl, token } = options;
  const latest = useRef(options);
  latest.current = options;
  const api = useMemo(() => new SyncApi({ serverUrl, token }), [serverUrl, token]);
  const stateRef = useRef<PedidosState>(emptyPedidosState);
  const [state, setState] = useState<PedidosState>(emptyPedidosState);
  const [isLoading, setIsLoading] = useState(options.autoFetch ?? true);
  const [error, setError] = useState<Error | null>(null);
  const [lastSync, setLastSync] = useState<Date | null>(null);
  const [syncLog, setSyncLog] = useState<readonly SyncLogEntry[]>([]);
  const pending = useRef<PendingFetch[]>([]);

  const log = useCallback((type: SyncLogType, message: string, data?: unknown) => {
    const entry: SyncLogEntry = { timestamp: new Date().toISOString(), type, message };
    if (data !== undefined) entry.data = data;
    const max = latest.current.maxLogEntries ?? 100;
    setSyncLog((entries) => [...entries.slice(Math.max(0, entries.length - max + 1)), entry]);
  }, []);

  const commit = useCallback((next: PedidosState): boolean => {
    if (next === stateRef.current) return false;
    stateRef.current = next;
    setState(next);
    return true;
  }, []);

  // A new server or token: start from nothing.
  useEffect(() => {
    stateRef.current = emptyPedidosState;
    setState(emptyPedidosState);
    setLastSync(null);
    setError(null);
  }, [api]);

  const rejectPending = (err: Error) => {
    const waiting = pending.current;
    pending.current = [];
    for (const p of waiting) p?.reject(err);
  };

  const onMessage = (message: ServerMessage) => {
    switch (message.type) {
      case 'connection':
        log('connection', message.message, { cursor: message.cursor });
        if (latest.current.autoFetch ?? true) requestList(null);
        return;
      case 'pedidos': {
        const waiter = pending.current.shift();
        const applied = commit(applySnapshot(stateRef.current, message.pedidos, message.cursor));
        setIsLoading(false);
        setError(null);
        setLastSync(new Date());
        log('success', `${message.pedidos.length} pedidos loaded`, {
          cursor: message.cursor,
          changed: applied,
        });
        waiter?.resolve(stateRef.current.pedidos);
        return;
      }
      case 'pedido_update':
        if (commit(applyPedidoUpdate(stateRef.current, message))) {
          setLastSync(new Date());
          log('websocket', `pedido ${message.pedido_id}: ${message.action}`, {
            version: message.version,
          });
          latest.current.onPedidoUpdate?.(
            stateRef.current.rows.get(String(message.pedido_id))?.pedido ?? null,
            message,
          );
        }
        return;
      case 'status_update':
        if (commit(applyStatusUpdate(stateRef.current, message))) {
          log(
            'websocket',
            `pedido ${message.pedido_id}: ${message.status_field} → ${String(message.new_value)}`,
            {
              version: message.version,
            },
          );
          latest.current.onStatusUpdate?.(message);
        }
        return;
      case 'refresh_required':
        log('websocket', message.message);
        requestList(null);
        return;
      case 'error':
        log('error', `${message.code}: ${message.message}`);
        setError(new SyncRequestError(0, message.code, message.message));
        return;
      default:
        return;
    }
  };

  const ws = useWebSocket(liveChannelUrl(serverUrl, '/ws/pedidos', token), {
    autoReconnect: options.autoReconnect,
    reconnectInterval: options.reconnectInterval,
    maxReconnectAttempts: options.maxReconnectAttempts,
    heartbeat: options.heartbeat,
    heartbeatInterval: options.heartbeatInterval,
    webSocketFactory: options.webSocketFactory,
    onMessage,
    onDisconnect: (info) => {
      log('connection', `disconnected (${info.code}${info.reason ? ` ${info.reason}` : ''})`, info);
      rejectPending(new SyncRequestError(0, 'NETWORK', 'disconnected before the list arrived'));
    },
    onError: (err) => {
      log('error', err.message, { code: err.code });
      if (err.code === 'unauthorized' || err.code === 'gave-up') {
        setError(err);
        setIsLoading(false);
      }
    },
  });
  const { sendMessage } = ws;

  function requestList(waiter: PendingFetch): boolean {
    if (!sendMessage({ type: 'get_pedidos' })) return false;
    pending.current.push(waiter);
    return true;
  }

  const fetchPedidos = useCallback(async (): Promise<readonly Pedido[]> => {
    setIsLoading(true);
    try {
      const overWs = new Promise<readonly Pedido[]>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new SyncRequestError(0, 'TIMEOUT', 'no answer to get_pedidos')),
          fetchTimeoutMs,
        );
        const sent = requestList({
          resolve: (p) => {
            clearTimeout(timer);
            resolve(p);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        if (!sent) {
          clearTimeout(timer);
          reject(new SyncRequestError(0, 'OFFLINE', 'not connected'));
        }
      });
      try {
        return await overWs;
      } catch (err) {
        if (!(err instanceof SyncRequestError) || err.code !== 'OFFLINE') throw err;
      }
      // Not connected: read the list over HTTP. The next connection refetches it with versions.
      const rows = await api.listTable<Record<string, unknown>>('pedidos');
      commit(applyList(stateRef.current, rows));
      setLastSync(new Date());
      log('success', `${rows.length} pedidos loaded over HTTP`);
      return stateRef.current.pedidos;
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      log('error', `fetching pedidos failed: ${e.message}`);
      setError(e);
      throw e;
    } finally {
      setIsLoading(false);
    }
  }, [api, sendMessage, commit, log]);

  // The server's current row, read over HTTP (`GET /api/tables/pedidos/:id`); the list
  // itself follows the live messages, so it is not touched here.
  const fetchPedidoById = useCallback(
    async (id: Pedido['id']): Promise<Pedido | null> => {
      try {
        return await api.getRow<Pedido>('pedidos', String(id));
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        log('error', `fetching pedido ${id} failed: ${e.message}`);
        throw e;
      }
    },
    [api, log],
  );

  const write = useCallback(
    async (
      op: 'upsert' | 'delete',
      build: () => Promise<{ id: Pedido['id']; [column: string]: unknown }>,
    ): Promise<Pedido | null> => {
      let id = '?';
      try {
        const record = await build();
        id = String(record.id);
        // Sent as text (the server types it by the schema); the local row keeps the id's type.
        const result = await api.pushOne('pedidos', op, { ...record, id });
        commit(applyConfirmedWrite(stateRef.current, { op, record, version: result.version }));
        setLastSync(new Date());
        log('success', `pedido ${id}: ${op} applied`, { version: result.version });
        return stateRef.current.rows.get(id)?.pedido ?? null;
      } catch (err) {
        if (err instanceof WriteRejectedError) {
          const { serverRecord, version } = err.result;
          if (err.status === 'conflict' && serverRecord !== undefined && version !== undefined)
            commit(applyServerRow(stateRef.current, id, serverRecord, version));
          log('error', `pedido ${id}: ${err.status} (${err.code}) ${err.message}`, err.result);
        } else log('error', `pedido ${id}: ${op} failed: ${String(err)}`);
        setError(err instanceof Error ? err : new Error(String(err)));
        throw err;
      }
    },
    [api, commit, log],
  );

  const createPedido = useCallback(
    async (data: NewPedido): Promise<Pedido | null> => {
      return write('upsert', async () => ({
        ...data,
        id: data.id ?? newId(),
        status: data.status ?? 'novo',
        created_at: data.created_at ?? new Date().toISOString(),
        store_id: data.store_id ?? (await api.getSession()).storeId,
      }));
    },
    [api, write],
  );

  const updatePedido = useCallback(
    (id: Pedido['id'], data: Partial<Pedido>) => write('upsert', async () => ({ ...data, id })),
    [write],
  );

  const deletePedido = useCallback(
    async (id: Pedido['id']): Promise<void> => {
      await write('delete', async () => ({ id }));
    },
    [write],
  );

  return {
    pedidos: state.pedidos,
    isLoading,
    error: error ?? ws.error,
    lastSync,
    syncLog,
    wsConnected: ws.isConnected,
    wsState: ws.connectionState,
    reconnectAttempt: ws.reconnectAttempt,
    fetchPedidos,
    fetchPedidoById,
    updatePedido,
    createPedido,
    deletePedido,
    wsReconnect: ws.reconnect,
  };
}
