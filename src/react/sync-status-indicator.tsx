import type { CSSProperties } from 'react';
import type { ConnectionState } from './live-socket.js';

export type SyncStatusLang = 'pt-BR' | 'en';

export type SyncStatusIndicatorProps = {
  isConnected: boolean;
  connectionState: ConnectionState;
  lastSync?: Date | string | null | undefined;
  reconnectAttempt?: number | undefined;
  /** Shows a "Reconectar" button while not connected. */
  onReconnect?: (() => void) | undefined;
  /** Labels' language (default pt-BR). */
  lang?: SyncStatusLang | undefined;
  className?: string | undefined;
};

const labels = {
  'pt-BR': {
    connected: 'Conectado',
    connecting: 'Conectando…',
    reconnecting: (n: number) => `Reconectando (tentativa ${n})…`,
    disconnected: 'Desconectado',
    error: 'Erro de conexão',
    lastSync: 'Última sincronização',
    reconnect: 'Reconectar',
  },
  en: {
    connected: 'Connected',
    connecting: 'Connecting…',
    reconnecting: (n: number) => `Reconnecting (attempt ${n})…`,
    disconnected: 'Disconnected',
    error: 'Connection error',
    lastSync: 'Last sync',
    reconnect: 'Reconnect',
  },
} as const;

const colors: Record<ConnectionState, string> = {
  connected: '#16a34a',
  connecting: '#d97706',
  disconnected: '#6b7280',
  error: '#dc2626',
};

const dot = (state: ConnectionState): CSSProperties => ({
  display: 'inline-block',
  width: 10,
  height: 10,
  borderRadius: '50%',
  background: colors[state],
});

/**
 * Seed 004's connection badge: a coloured dot, the state in words (pt-BR by
 * default), the last sync time and a reconnect button while not connected.
 * `data-state` on the root carries the state for styling and tests.
 *
 * @example
 * <SyncStatusIndicator isConnected={wsConnected} connectionState={wsState} lastSync={lastSync}
 *   reconnectAttempt={reconnectAttempt} onReconnect={wsReconnect} />
 */
export function SyncStatusIndicator(props: SyncStatusIndicatorProps) {
  const t = labels[props.lang ?? 'pt-BR'];
  const state: ConnectionState = props.isConnected ? 'connected' : props.connectionState;
  const attempt = props.reconnectAttempt ?? 0;
  const label =
    state === 'connecting' ? (attempt > 0 ? t.reconnecting(attempt) : t.connecting) : t[state];
  const last = props.lastSync ? new Date(props.lastSync) : null;
  return (
    <div
      role="status"
      aria-live="polite"
      data-state={state}
      className={props.className ?? 'pdv-sync-status'}
      style={{ display: 'inline-flex', alignItems: 'center', gap: 8 }}
    >
      <span aria-hidden="true" style={dot(state)} />
      <span className="pdv-sync-status-label">{label}</span>
      {last && !Number.isNaN(last.getTime()) && (
        <span className="pdv-sync-status-last" title={last.toISOString()}>
          {t.lastSync}: {last.toLocaleTimeString(props.lang ?? 'pt-BR')}
        </span>
      )}
      {state !== 'connected' && props.onReconnect && (
        <button type="button" onClick={props.onReconnect}>
          {t.reconnect}
        </button>
      )}
    </div>
  );
}

export default SyncStatusIndicator;
