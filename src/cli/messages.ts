/** CLI text in pt-BR (the users' language) and English; PDV_SYNC_LANG or LANG picks one. */
const catalog = {
  serverListening: {
    'pt-BR': 'Servidor pdv-sync ouvindo em {url} (banco: {db})',
    en: 'pdv-sync server listening on {url} (database: {db})',
  },
  adminTokenCreated: {
    'pt-BR': 'Token de administrador criado (mostrado só desta vez; guarde-o):',
    en: 'Admin token created (shown only this once; keep it safe):',
  },
  adminTokenExisting: {
    'pt-BR':
      'Token de administrador: já criado anteriormente (ou definido por PDV_SYNC_ADMIN_TOKEN).',
    en: 'Admin token: created on an earlier start (or set by PDV_SYNC_ADMIN_TOKEN).',
  },
  stopping: {
    'pt-BR': 'Encerrando: aguardando requisições em andamento...',
    en: 'Stopping: draining in-flight requests...',
  },
  stopped: { 'pt-BR': 'Servidor encerrado.', en: 'Server stopped.' },
  deviceCreated: {
    'pt-BR': 'Dispositivo {machine} da loja {store} criado. Token (mostrado só desta vez):',
    en: 'Device {machine} of store {store} created. Token (shown only this once):',
  },
  deviceRevoked: {
    'pt-BR': 'Token do dispositivo {machine} revogado.',
    en: 'Device {machine} token revoked.',
  },
  deviceNotFound: {
    'pt-BR': 'Nenhum dispositivo ativo {machine}.',
    en: 'No active device {machine}.',
  },
  error: { 'pt-BR': 'erro', en: 'error' },
  pullProgress: {
    'pt-BR': 'Recebendo {tables}: {done}/{total} ({pct}%)',
    en: 'Pulling {tables}: {done}/{total} ({pct}%)',
  },
  pushProgress: { 'pt-BR': 'Enviando: {done}/{total}', en: 'Pushing: {done}/{total}' },
  terminalStatus: {
    'pt-BR': 'Estado: {state} (pendentes: {backlog}) {error}',
    en: 'Status: {state} (backlog: {backlog}) {error}',
  },
  liveState: {
    'pt-BR': 'Conexão em tempo real: {state}',
    en: 'Live connection: {state}',
  },
  syncSummary: {
    'pt-BR':
      'Sincronização: {status} — enviados {pushed}, recebidos {pulled}, conflitos {conflicts}, rejeitados {rejected}, {ms} ms',
    en: 'Sync: {status} — pushed {pushed}, pulled {pulled}, conflicts {conflicts}, rejected {rejected}, {ms} ms',
  },
} as const;

export type MessageKey = keyof typeof catalog;

export function locale(env: NodeJS.ProcessEnv = process.env): 'pt-BR' | 'en' {
  const lang = env['PDV_SYNC_LANG'] ?? env['LANG'] ?? '';
  return /^en/i.test(lang) ? 'en' : 'pt-BR';
}

export function t(key: MessageKey, vars: Record<string, string> = {}): string {
  return catalog[key][locale()].replace(
    /\{(\w+)\}/g,
    (_, name: string) => vars[name] ?? `{${name}}`,
  );
}
