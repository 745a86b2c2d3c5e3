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
  agentStarted: {
    'pt-BR':
      'Agente pdv-sync iniciado: ciclo a cada {interval} s, webhook {webhook}, dados em {dataDir}',
    en: 'pdv-sync agent started: a cycle every {interval} s, webhook {webhook}, data in {dataDir}',
  },
  agentCycle: {
    'pt-BR':
      'Ciclo: {windows} janela(s) lida(s), {delivered} enviado(s), {failed} falha(s), {dead} em dead_letter, {backlog} no outbox; sincronizado até {to}',
    en: 'Cycle: {windows} window(s) read, {delivered} delivered, {failed} failed, {dead} dead-lettered, {backlog} in the outbox; synced up to {to}',
  },
  agentStopping: {
    'pt-BR': 'Encerrando o agente: terminando a etapa em andamento...',
    en: 'Stopping the agent: finishing the current step...',
  },
  agentStopped: { 'pt-BR': 'Agente encerrado.', en: 'Agent stopped.' },
  agentRequeued: {
    'pt-BR': '{count} arquivo(s) de dead_letter devolvido(s) ao outbox.',
    en: '{count} dead_letter file(s) moved back to the outbox.',
  },
  doctorTitle: { 'pt-BR': 'Diagnóstico do agente pdv-sync', en: 'pdv-sync agent diagnostics' },
  doctorSummary: {
    'pt-BR': '{failed} falha(s), {warned} aviso(s). Relatório salvo em {file}',
    en: '{failed} failure(s), {warned} warning(s). Report written to {file}',
  },
  'doctor.config': { 'pt-BR': 'Arquivo de configuração', en: 'Configuration file' },
  'doctor.folders': { 'pt-BR': 'Permissões das pastas', en: 'Folder permissions' },
  'doctor.queries': { 'pt-BR': 'Arquivos de consulta SQL', en: 'SQL query files' },
  'doctor.caixa': {
    'pt-BR': 'Banco do caixa (frente de loja)',
    en: 'Caixa database (front of store)',
  },
  'doctor.gestao': { 'pt-BR': 'Banco da gestão (retaguarda)', en: 'Gestao database (back office)' },
  'doctor.caixa_clock': { 'pt-BR': 'Relógio do banco do caixa', en: 'Caixa database clock' },
  'doctor.gestao_clock': { 'pt-BR': 'Relógio do banco da gestão', en: 'Gestao database clock' },
  'doctor.api': { 'pt-BR': 'API (alcance e token)', en: 'API (reachability and token)' },
  'doctor.api_clock': { 'pt-BR': 'Relógio da API', en: 'API clock' },
  'doctor.backlog': {
    'pt-BR': 'Pendências (outbox e dead_letter)',
    en: 'Backlog (outbox and dead_letter)',
  },
  deadLettersNone: {
    'pt-BR': 'Nenhum registro em dead letters.',
    en: 'No dead letters.',
  },
  deadLetterLine: {
    'pt-BR': '#{id} {table} {rowId} [{code}] {reason} ({at})',
    en: '#{id} {table} {rowId} [{code}] {reason} ({at})',
  },
  deadLettersRetried: {
    'pt-BR': '{count} registro(s) devolvido(s) ao outbox; serão enviados na próxima sincronização.',
    en: '{count} record(s) moved back to the outbox; they are sent on the next sync.',
  },
  deadLettersDiscarded: {
    'pt-BR': '{count} registro(s) descartado(s) definitivamente.',
    en: '{count} record(s) discarded for good.',
  },
  deadLettersNeedIds: {
    'pt-BR': 'Informe os números (#id) dos registros ou --all.',
    en: 'Give the record numbers (#id) or --all.',
  },
  deadLettersNoDb: {
    'pt-BR': 'Banco do caixa não encontrado: {db}',
    en: 'Till database not found: {db}',
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
