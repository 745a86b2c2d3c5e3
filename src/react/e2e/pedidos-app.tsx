/**
 * The page the browser tests load (pedidos-sync.e2e.test.ts bundles it with
 * esbuild): a small PDV screen on the public API of `pdv-sync/react`. It renders
 * the state in the DOM and exposes the writes as `window.pdv` for the test.
 * Query string: `server` (API URL), `token`, `lang`.
 */
import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import {
  SyncStatusIndicator,
  usePedidosSync,
  useSync,
  type NewPedido,
  type Pedido,
  type SyncLogEntry,
  type SyncStatusLang,
} from '../index.js';

/** A write's outcome as plain data (errors keep their class name and code). */
export type Outcome =
  { ok: true; pedido: Pedido | null } | { ok: false; name: string; code: string; message: string };

export type PdvTestApi = {
  create(data: NewPedido): Promise<Outcome>;
  update(id: string, data: Partial<Pedido>): Promise<Outcome>;
  remove(id: string): Promise<Outcome>;
  fetchById(id: string): Promise<Outcome>;
  reconnect(): void;
  log(): readonly SyncLogEntry[];
  /** Rows of a table over HTTP (useSync's fetchTable). */
  fetchTable(table: string): Promise<Record<string, unknown>[]>;
};

declare global {
  interface Window {
    pdv?: PdvTestApi;
  }
}

const params = new URLSearchParams(window.location.search);
const serverUrl = params.get('server') ?? window.location.origin;
const token = params.get('token') ?? '';
const lang: SyncStatusLang = params.get('lang') === 'en' ? 'en' : 'pt-BR';

async function outcome(run: () => Promise<Pedido | null | void>): Promise<Outcome> {
  try {
    return { ok: true, pedido: (await run()) ?? null };
  } catch (err) {
    const e = err as Error & { code?: unknown };
    return {
      ok: false,
      name: e.name,
      code: typeof e.code === 'string' ? e.code : '',
      message: e.message,
    };
  }
}

function App() {
  const [lastStatus, setLastStatus] = useState('');
  const sync = usePedidosSync({
    serverUrl,
    token,
    heartbeatInterval: 5000,
    onStatusUpdate: (m) => setLastStatus(`${m.pedido_id}:${String(m.new_value)}`),
  });
  const { createPedido, updatePedido, deletePedido, fetchPedidoById, wsReconnect, syncLog } = sync;
  // The global channel, for the pedidos table only: says that rows changed, not what they hold.
  const changes = useSync({ serverUrl, token, tables: ['pedidos'], heartbeatInterval: 5000 });
  const { fetchTable } = changes;

  useEffect(() => {
    window.pdv = {
      create: (data) => outcome(() => createPedido(data)),
      update: (id, data) => outcome(() => updatePedido(id, data)),
      remove: (id) => outcome(() => deletePedido(id)),
      fetchById: (id) => outcome(() => fetchPedidoById(id)),
      reconnect: wsReconnect,
      log: () => syncLog,
      fetchTable: (table) => fetchTable(table),
    };
  }, [createPedido, updatePedido, deletePedido, fetchPedidoById, wsReconnect, syncLog, fetchTable]);

  const error: (Error & { code?: unknown }) | null = sync.error;
  return (
    <main>
      <SyncStatusIndicator
        isConnected={sync.wsConnected}
        connectionState={sync.wsState}
        lastSync={sync.lastSync}
        reconnectAttempt={sync.reconnectAttempt}
        onReconnect={sync.wsReconnect}
        lang={lang}
      />
      <dl>
        <dt>state</dt>
        <dd id="state">{sync.wsState}</dd>
        <dt>loading</dt>
        <dd id="loading">{String(sync.isLoading)}</dd>
        <dt>error</dt>
        <dd id="error">
          {error ? `${error.name}:${typeof error.code === 'string' ? error.code : ''}` : ''}
        </dd>
        <dt>last status_update</dt>
        <dd id="last-status">{lastStatus}</dd>
        <dt>/ws channel</dt>
        <dd id="changes-state">{changes.connectionState}</dd>
        <dt>pedidos table changes</dt>
        <dd id="pedidos-changes">{changes.tableChanges['pedidos'] ?? 0}</dd>
      </dl>
      <ul id="pedidos">
        {sync.pedidos.map((p) => (
          <li key={p.id} data-id={p.id} data-status={p.status}>
            #{String(p.numero ?? '')} {p.cliente ?? ''} ({p.status})
          </li>
        ))}
      </ul>
    </main>
  );
}

const root = document.getElementById('root');
if (root)
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
