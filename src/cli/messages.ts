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
  managerCreated: {
    'pt-BR':
      'Gerente {machine} da loja {store} criado (vê e age só nesta loja). Token (mostrado só desta vez):',
    en: 'Manager {machine} of store {store} created (sees and acts on this store only). Token (shown only this once):',
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
  startPortInUse: {
    'pt-BR':
      'A porta {port} já está em uso por outro programa: pare-o ou escolha outra porta com --port / PDV_SYNC_PORT.',
    en: 'Port {port} is already in use by another program: stop it or pick another port with --port / PDV_SYNC_PORT.',
  },
  startPortDenied: {
    'pt-BR':
      'Sem permissão para ouvir na porta {port}: use uma porta acima de 1024 com --port / PDV_SYNC_PORT.',
    en: 'Not allowed to listen on port {port}: use a port above 1024 with --port / PDV_SYNC_PORT.',
  },
  startPgDown: {
    'pt-BR':
      'O PostgreSQL em {host} não responde: verifique se o serviço está rodando e se o endereço em --db / PDV_SYNC_DB está certo.',
    en: 'PostgreSQL at {host} does not answer: check that the service is running and that the address in --db / PDV_SYNC_DB is right.',
  },
  startPgHostUnknown: {
    'pt-BR': 'O endereço {host} do PostgreSQL não existe: corrija o host em --db / PDV_SYNC_DB.',
    en: 'PostgreSQL host {host} cannot be resolved: fix the host in --db / PDV_SYNC_DB.',
  },
  startDbMissing: {
    'pt-BR':
      'O banco "{database}" não existe no PostgreSQL {host}: crie-o (createdb {database}) ou corrija --db / PDV_SYNC_DB.',
    en: 'Database "{database}" does not exist on PostgreSQL {host}: create it (createdb {database}) or fix --db / PDV_SYNC_DB.',
  },
  startRoleMissing: {
    'pt-BR':
      'O usuário "{user}" não existe no PostgreSQL {host}: crie-o (createuser {user}) ou corrija o usuário em --db / PDV_SYNC_DB.',
    en: 'Role "{user}" does not exist on PostgreSQL {host}: create it (createuser {user}) or fix the user in --db / PDV_SYNC_DB.',
  },
  startPgPassword: {
    'pt-BR':
      'O PostgreSQL {host} recusou a senha do usuário "{user}": corrija-a em --db / PDV_SYNC_DB.',
    en: 'PostgreSQL {host} refused the password of role "{user}": fix it in --db / PDV_SYNC_DB.',
  },
  startPgHba: {
    'pt-BR':
      'O PostgreSQL {host} não aceita conexões deste computador para "{user}": libere-o no pg_hba.conf ou use sslmode=require em --db.',
    en: 'PostgreSQL {host} does not accept connections from this machine for "{user}": allow it in pg_hba.conf or use sslmode=require in --db.',
  },
  startSslRefused: {
    'pt-BR':
      'O PostgreSQL {host} não aceita SSL, mas --db pede SSL: retire sslmode=require de --db ou ative o SSL no servidor.',
    en: 'PostgreSQL {host} does not accept SSL but --db asks for it: remove sslmode=require from --db or enable SSL on the server.',
  },
  startPgSchemaMissing: {
    'pt-BR':
      'O schema indicado em --pg-schema não existe no banco "{database}": crie-o ou corrija o nome.',
    en: 'The schema named by --pg-schema does not exist in database "{database}": create it or fix the name.',
  },
  startPgPermission: {
    'pt-BR':
      'O usuário "{user}" não tem permissão no banco "{database}" ({detail}): conceda-a (GRANT) ou use outro usuário.',
    en: 'Role "{user}" lacks a permission in database "{database}" ({detail}): grant it or use another role.',
  },
  startSqliteCannotOpen: {
    'pt-BR':
      'Não foi possível abrir o banco SQLite ({detail}): verifique a pasta e as permissões de --db.',
    en: 'Cannot open the SQLite database ({detail}): check the folder and permissions of --db.',
  },
  startNoPermission: {
    'pt-BR':
      'Sem permissão de escrita ({detail}): rode em uma pasta gravável ou ajuste --db / --log-file.',
    en: 'No write permission ({detail}): run from a writable folder or change --db / --log-file.',
  },
  startFailed: {
    'pt-BR': 'falha ao iniciar',
    en: 'start-up failed',
  },
  deviceNoDatabase: {
    'pt-BR':
      'Nenhum banco do servidor em {db}: nada foi criado. Rode o comando na pasta do servidor (a mesma .env), passe --db com o banco que o servidor usa, ou use --server URL com o token de administrador (--admin-token / PDV_SYNC_ADMIN_TOKEN).',
    en: 'No server database at {db}: nothing was created. Run the command from the server folder (same .env), pass --db with the database the server uses, or use --server URL with the admin token (--admin-token / PDV_SYNC_ADMIN_TOKEN).',
  },
  deviceNeedsAdminToken: {
    'pt-BR': '--server precisa do token de administrador: --admin-token ou PDV_SYNC_ADMIN_TOKEN.',
    en: '--server needs the admin token: --admin-token or PDV_SYNC_ADMIN_TOKEN.',
  },
  deviceServerRefused: {
    'pt-BR': 'O servidor {server} recusou ({status}): {message}',
    en: 'The server {server} refused ({status}): {message}',
  },
  deviceServerUnreachable: {
    'pt-BR': 'O servidor {server} não responde ({detail}): verifique se está rodando e o endereço.',
    en: 'The server {server} does not answer ({detail}): check that it is running and the address.',
  },
  agentCycleFailed: {
    'pt-BR':
      'Ciclo com falha: {failed} envio(s) falharam, {dead} recusado(s) e movido(s) para dead_letter, {backlog} no outbox. {errors}',
    en: 'Cycle failed: {failed} delivery failure(s), {dead} refused and moved to dead_letter, {backlog} in the outbox. {errors}',
  },
  'help.program': {
    'pt-BR': 'pdv-sync: sincronização offline-first para sistemas de PDV (frente de loja)',
    en: 'pdv-sync: offline-first synchronization for PDV (point-of-sale) systems',
  },
  'help.version': { 'pt-BR': 'mostra a versão', en: 'print the version' },
  'help.help': { 'pt-BR': 'mostra esta ajuda', en: 'show this help' },
  'help.server': {
    'pt-BR': 'inicia o servidor de sincronização (SQLite embutido por padrão, ou PostgreSQL)',
    en: 'start the sync server (embedded SQLite by default, or PostgreSQL)',
  },
  'help.device': {
    'pt-BR': 'gerencia os tokens dos terminais (dispositivos)',
    en: 'manage terminal (device) tokens',
  },
  'help.deviceAdd': {
    'pt-BR': 'cria um token ligado a uma loja e a uma máquina',
    en: 'create a token bound to one store and one machine',
  },
  'help.deviceRevoke': {
    'pt-BR': 'revoga o token de uma máquina',
    en: "end a machine's token",
  },
  'help.deviceList': {
    'pt-BR': 'lista os dispositivos e sua última atividade',
    en: 'list devices and their last activity',
  },
  'help.deviceServer': {
    'pt-BR': 'usa a API de administração deste servidor em execução (ex.: http://127.0.0.1:3001)',
    en: 'use the admin API of this running server (e.g. http://127.0.0.1:3001)',
  },
  'help.adminToken': {
    'pt-BR': 'token de administrador (prefira PDV_SYNC_ADMIN_TOKEN: opções aparecem no ps)',
    en: 'admin token (prefer PDV_SYNC_ADMIN_TOKEN: flags show in ps)',
  },
  'help.deviceDb': {
    'pt-BR':
      'banco do servidor (padrão: o mesmo do servidor, pela .env / PDV_SYNC_DB); nunca é criado',
    en: "the server's database (default: the server's own, from .env / PDV_SYNC_DB); never created",
  },
  'help.agent': {
    'pt-BR':
      'roda o agente de sincronização da loja: lê janelas de vendas dos bancos do caixa e as entrega a um webhook',
    en: "run the store sync agent: read sales windows from the till's databases and deliver them to a webhook",
  },
  'help.backup': {
    'pt-BR': 'copia o banco do servidor com ele em funcionamento (SQLite ou PostgreSQL)',
    en: "copy the server's database while it runs (SQLite or PostgreSQL)",
  },
  'help.restore': {
    'pt-BR': 'restaura uma cópia feita por backup, com uma nova época (os terminais reenviam)',
    en: 'restore a copy made by backup, with a new epoch (terminals re-send)',
  },
  'help.smoke': {
    'pt-BR': 'verifica um servidor: saúde, schema, ida e volta de um dispositivo, reconciliação',
    en: 'check a server: health, schema, a device round trip, reconcile',
  },
  'help.reliability': {
    'pt-BR':
      'verifica as garantias de sincronização (idempotência, conflito, exclusão, cursor) na loja reservada a verificações',
    en: 'check the sync guarantees (idempotency, conflict, tombstone, cursor) in the store reserved for checks',
  },
  backupWritten: {
    'pt-BR':
      'Backup gravado em {file} ({bytes} bytes): banco {databaseId}, tirado em {takenAt}, posição {headSeq} do registro de mudanças.',
    en: 'Backup written to {file} ({bytes} bytes): database {databaseId}, taken at {takenAt}, change-log position {headSeq}.',
  },
  restoreDone: {
    'pt-BR':
      'Restaurado {file} (banco {from}, tirado em {takenAt}). Nova época: {databaseId}. Terminais e agentes que guardam o que enviaram reenviam tudo desde {since} ao se reconectar.',
    en: 'Restored {file} (database {from}, taken at {takenAt}). New epoch: {databaseId}. Terminals and agents that keep what they delivered re-send everything since {since} when they reconnect.',
  },
  restoreLost: {
    'pt-BR': 'O que NÃO volta (gravado depois de {takenAt}):',
    en: 'What does NOT come back (written after {takenAt}):',
  },
  restoreLostServer: {
    'pt-BR':
      'as gravações do próprio servidor: edições de administrador, tokens de dispositivos criados ou revogados, e SQL escrito direto no banco pela retaguarda;',
    en: "the server's own writes: admin edits, device tokens created or revoked, and SQL a back office wrote straight into the database;",
  },
  restoreLostClients: {
    'pt-BR':
      'as gravações de clientes que não guardam cópia local (scripts e integrações que chamam a API sem o SDK do terminal ou o agente), e o que um terminal ou agente enviou há mais tempo que a sua retenção (padrão 7 dias).',
    en: 'writes from clients that keep no local copy (scripts and integrations calling the API without the terminal SDK or the agent), and what a terminal or agent delivered longer ago than its retention (7 days by default).',
  },
  'help.backupOut': {
    'pt-BR': 'arquivo de destino (padrão: ./backups/pdv-sync-<data>.backup)',
    en: 'destination file (default: ./backups/pdv-sync-<date>.backup)',
  },
  'help.restoreForce': {
    'pt-BR': 'substitui um banco que já tem dados (pare o servidor antes)',
    en: 'replace a database that already holds data (stop the server first)',
  },
  'help.opsDb': {
    'pt-BR': 'banco do servidor (padrão: o mesmo do servidor, pela .env / PDV_SYNC_DB)',
    en: "the server's database (default: the server's own, from .env / PDV_SYNC_DB)",
  },
  'help.pgSchema': {
    'pt-BR': 'schema do PostgreSQL das tabelas do servidor (PDV_SYNC_PG_SCHEMA)',
    en: 'PostgreSQL schema of the server tables (PDV_SYNC_PG_SCHEMA)',
  },
  checksSummary: {
    'pt-BR': '{passed} de {total} verificações passaram em {server}.',
    en: '{passed} of {total} checks passed on {server}.',
  },
  checksNeedAdminToken: {
    'pt-BR': 'Informe o token de administrador: --admin-token ou PDV_SYNC_ADMIN_TOKEN.',
    en: 'Give the admin token: --admin-token or PDV_SYNC_ADMIN_TOKEN.',
  },
  checksNeedServer: {
    'pt-BR': 'Informe o servidor: --server URL ou PDV_SYNC_SERVER.',
    en: 'Give the server: --server URL or PDV_SYNC_SERVER.',
  },
  'help.checksServer': {
    'pt-BR': 'URL do servidor (PDV_SYNC_SERVER), ex.: http://127.0.0.1:3001',
    en: 'server URL (PDV_SYNC_SERVER), e.g. http://127.0.0.1:3001',
  },
  'check.health': { 'pt-BR': 'saúde', en: 'health' },
  'check.schema': { 'pt-BR': 'schema', en: 'schema' },
  'check.device round trip': { 'pt-BR': 'ida e volta de um dispositivo', en: 'device round trip' },
  'check.reconcile': { 'pt-BR': 'reconciliação', en: 'reconcile' },
  'check.reconcile history': { 'pt-BR': 'histórico de reconciliação', en: 'reconcile history' },
  'check.idempotency': { 'pt-BR': 'idempotência', en: 'idempotency' },
  'check.stale update becomes a conflict': {
    'pt-BR': 'atualização desatualizada vira conflito',
    en: 'stale update becomes a conflict',
  },
  'check.tombstone reaches another terminal': {
    'pt-BR': 'exclusão chega a outro terminal',
    en: 'tombstone reaches another terminal',
  },
  'check.cursor resume': { 'pt-BR': 'retomada pelo cursor', en: 'cursor resume' },
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

/** A help line written beside its translation (option descriptions), in the user's language. */
export function tr(en: string, ptBR: string): string {
  return locale() === 'en' ? en : ptBR;
}

const helpTitles: Record<string, string> = {
  'Usage:': 'Uso:',
  'Options:': 'Opções:',
  'Commands:': 'Comandos:',
  'Arguments:': 'Argumentos:',
  'Global Options:': 'Opções globais:',
};

/** Commander's help headings in the user's language. */
export function helpTitle(title: string): string {
  return locale() === 'pt-BR' ? (helpTitles[title] ?? title) : title;
}
