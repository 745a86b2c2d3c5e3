import { useCallback, useEffect, useRef, useState } from 'react';
import type { ClientMessage, ServerMessage } from '../protocol/live.js';
import {
  LiveSocket,
  type ConnectionState,
  type DisconnectInfo,
  type LiveSocketError,
  type LiveSocketOptions,
  type LiveSocketSnapshot,
  type WebSocketFactory,
} from './live-socket.js';

export type UseWebSocketOptions = LiveSocketOptions & {
  /** Every message, validated, in arrival order (unlike `lastMessage`, none is skipped). */
  onMessage?: ((message: ServerMessage) => void) | undefined;
  onConnect?: (() => void) | undefined;
  onDisconnect?: ((info: DisconnectInfo) => void) | undefined;
  onError?: ((error: LiveSocketError) => void) | undefined;
  /** Builds the socket (default: the browser's `WebSocket`). */
  webSocketFactory?: WebSocketFactory | undefined;
};

export type UseWebSocketResult = {
  isConnected: boolean;
  connectionState: ConnectionState;
  lastMessage: ServerMessage | null;
  /** Sends when connected; returns false (nothing sent) otherwise. */
  sendMessage: (message: ClientMessage) => boolean;
  /** Drops the connection and connects again at once, resetting the attempt count. */
  reconnect: () => void;
  reconnectAttempt: number;
  /** Why the state is `error` (`code: 'unauthorized'` for a refused token). */
  error: LiveSocketError | null;
};

const idle: LiveSocketSnapshot = { state: 'disconnected', reconnectAttempt: 0, error: null };

/**
 * A WebSocket to a pdv-sync channel that heals itself (seed 004's hook): it
 * reconnects with full-jitter backoff capped at `reconnectInterval`, pings every
 * `heartbeatInterval` and treats two silent periods as a dead link, and stops
 * for good when the server refuses the token (close 1008, state `error`).
 * Changing the URL or an option reconnects; `url: null` stays disconnected.
 *
 * @example
 * const { isConnected, sendMessage } = useWebSocket(liveChannelUrl(apiUrl, '/ws/pedidos', token), {
 *   reconnectInterval: 3000,
 *   onMessage: (m) => m.type === 'pedido_update' && console.log(m.pedido_id),
 * });
 */
export function useWebSocket(
  url: string | null,
  options: UseWebSocketOptions = {},
): UseWebSocketResult {
  const latest = useRef(options);
  latest.current = options;
  const socketRef = useRef<LiveSocket | null>(null);
  const [snapshot, setSnapshot] = useState<LiveSocketSnapshot>(idle);
  const [lastMessage, setLastMessage] = useState<ServerMessage | null>(null);
  const { autoReconnect, reconnectInterval, maxReconnectAttempts, heartbeat, heartbeatInterval } =
    options;
  const factory = options.webSocketFactory;

  useEffect(() => {
    if (!url) {
      setSnapshot(idle);
      return;
    }
    const socket = new LiveSocket(
      url,
      { autoReconnect, reconnectInterval, maxReconnectAttempts, heartbeat, heartbeatInterval },
      {
        onMessage: (message) => {
          setLastMessage(message);
          latest.current.onMessage?.(message);
        },
        onConnect: () => latest.current.onConnect?.(),
        onDisconnect: (info) => latest.current.onDisconnect?.(info),
        onError: (error) => latest.current.onError?.(error),
        onChange: setSnapshot,
      },
      factory,
    );
    socketRef.current = socket;
    socket.connect();
    return () => {
      if (socketRef.current === socket) socketRef.current = null;
      socket.close();
    };
  }, [
    url,
    autoReconnect,
    reconnectInterval,
    maxReconnectAttempts,
    heartbeat,
    heartbeatInterval,
    factory,
  ]);

  const sendMessage = useCallback(
    (message: ClientMessage) => socketRef.current?.send(message) ?? false,
    [],
  );
  const reconnect = useCallback(() => socketRef.current?.reconnect(), []);

  return {
    isConnected: snapshot.state === 'connected',
    connectionState: snapshot.state,
    lastMessage,
    sendMessage,
    reconnect,
    reconnectAttempt: snapshot.reconnectAttempt,
    error: snapshot.error,
  };
}
