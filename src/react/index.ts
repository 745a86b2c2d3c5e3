/**
 * `pdv-sync/react`: React hooks over the real-time channels (seed 004). Browser
 * only, no Node imports; React 18 or later is a peer dependency.
 */
export {
  LiveSocket,
  LiveSocketError,
  connectionStates,
  liveChannelUrl,
  reconnectDelay,
  type ConnectionState,
  type DisconnectInfo,
  type LiveSocketErrorCode,
  type LiveSocketEvents,
  type LiveSocketOptions,
  type LiveSocketSnapshot,
  type WebSocketFactory,
  type WebSocketLike,
} from './live-socket.js';
export {
  applyConfirmedWrite,
  applyList,
  applyPedidoUpdate,
  applyServerRow,
  applySnapshot,
  applyStatusUpdate,
  emptyPedidosState,
  knownVersion,
  parseCursor,
  type Pedido,
  type PedidosState,
} from './pedidos-state.js';
export {
  SyncApi,
  SyncRequestError,
  WriteRejectedError,
  newId,
  type SyncApiOptions,
} from './sync-api.js';
export {
  useWebSocket,
  type UseWebSocketOptions,
  type UseWebSocketResult,
} from './use-web-socket.js';
export {
  usePedidosSync,
  type NewPedido,
  type SyncLogEntry,
  type SyncLogType,
  type UsePedidosSyncOptions,
  type UsePedidosSyncResult,
} from './use-pedidos-sync.js';
export { useSync, type UseSyncOptions, type UseSyncResult } from './use-sync.js';
export {
  SyncStatusIndicator,
  type SyncStatusIndicatorProps,
  type SyncStatusLang,
} from './sync-status-indicator.js';
