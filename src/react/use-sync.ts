import { useCallback, useMemo, useRef, useState } from 'react';
import type { LiveChange } from '../protocol/live.js';
import {
  liveChannelUrl,
  type ConnectionState,
  type LiveSocketError,
  type LiveSocketOptions,
} from './live-socket.js';
import { SyncApi } from './sync-api.js';
import { useWebSocket, type UseWebSocketOptions } from './use-web-socket.js';

export type UseSyncOptions = LiveSocketOptions & {
  /** API base URL, e.g. `http://192.168.0.10:3001`. */
  serverUrl: string;
  token: string;
  /** Tables (names or aliases) to hear about; empty or absent: every table the token may read. */
  tables?: readonly string[] | undefined;
  /** Each batch of committed changes, in commit order, with the cursor just after it. */
  onChanges?: ((changes: LiveChange[], cursor: string) => void) | undefined;
  webSocketFactory?: UseWebSocketOptions['webSocketFactory'];
};

export type UseSyncResult = {
  isConnected: boolean;
  connectionState: ConnectionState;
  reconnectAttempt: number;
  error: LiveSocketError | null;
  /** The change-log position the notifications are current to (null before the first connection). */
  cursor: string | null;
  /**
   * Per table, a counter that grows whenever the table may have changed: by one per notification
   * naming it and per (re)connection. Use it as an effect dependency to refetch.
   */
  tableChanges: Readonly<Record<string, number>>;
  /** Every row of a table the token may read, over HTTP. */
  fetchTable: <T = Record<string, unknown>>(table: string) => Promise<T[]>;
  reconnect: () => void;
};

/**
 * The global channel `/ws`: says *that* rows of the chosen tables changed (a
 * `changes` notification), not what they hold. A screen refetches what it shows
 * when `tableChanges[table]` moves; after a reconnection every table counts as
 * changed, since notifications sent while disconnected were missed.
 *
 * @example
 * const { tableChanges, fetchTable } = useSync({ serverUrl, token, tables: ['produtos'] });
 * useEffect(() => {
 *   void fetchTable<Produto>('produtos').then(setProdutos);
 * }, [tableChanges['produtos']]);
 */
export function useSync(options: UseSyncOptions): UseSyncResult {
  const { serverUrl, token } = options;
  const tablesKey = (options.tables ?? []).join(',');
  const latest = useRef(options);
  latest.current = options;
  const api = useMemo(() => new SyncApi({ serverUrl, token }), [serverUrl, token]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [tableChanges, setTableChanges] = useState<Readonly<Record<string, number>>>({});
  const url = useMemo(() => {
    const base = liveChannelUrl(serverUrl, '/ws', token);
    return tablesKey ? `${base}&tables=${encodeURIComponent(tablesKey)}` : base;
  }, [serverUrl, token, tablesKey]);

  const ws = useWebSocket(url, {
    autoReconnect: options.autoReconnect,
    reconnectInterval: options.reconnectInterval,
    maxReconnectAttempts: options.maxReconnectAttempts,
    heartbeat: options.heartbeat,
    heartbeatInterval: options.heartbeatInterval,
    webSocketFactory: options.webSocketFactory,
    onMessage: (message) => {
      if (message.type === 'connection') {
        setCursor(message.cursor);
        // Whatever changed while disconnected was not announced: every table counts as changed.
        setTableChanges((v) => {
          const next = { ...v };
          for (const t of [...Object.keys(v), ...tablesKey.split(',').filter(Boolean)])
            next[t] = (v[t] ?? 0) + 1;
          return next;
        });
      } else if (message.type === 'changes') {
        setCursor(message.cursor);
        setTableChanges((v) => {
          const next = { ...v };
          for (const t of new Set(message.changes.map((c) => c.table))) next[t] = (v[t] ?? 0) + 1;
          return next;
        });
        latest.current.onChanges?.(message.changes, message.cursor);
      }
    },
  });

  const fetchTable = useCallback(
    <T = Record<string, unknown>>(table: string) => api.listTable<T>(table),
    [api],
  );

  return {
    isConnected: ws.isConnected,
    connectionState: ws.connectionState,
    reconnectAttempt: ws.reconnectAttempt,
    error: ws.error,
    cursor,
    tableChanges,
    fetchTable,
    reconnect: ws.reconnect,
  };
}
