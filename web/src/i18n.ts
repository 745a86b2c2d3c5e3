/** Console text in pt-BR (default) and English. */
export const languages = ['pt-BR', 'en'] as const;
export type Lang = (typeof languages)[number];

const text = {
  title: { 'pt-BR': 'Console pdv-sync', en: 'pdv-sync console' },
  signIn: { 'pt-BR': 'Entrar', en: 'Sign in' },
  signOut: { 'pt-BR': 'Sair', en: 'Sign out' },
  token: {
    'pt-BR': 'Token (administrador ou gerente de loja)',
    en: 'Token (admin or store manager)',
  },
  staySignedIn: {
    'pt-BR': 'Manter conectado neste navegador',
    en: 'Stay signed in on this browser',
  },
  badToken: { 'pt-BR': 'Token inválido ou revogado.', en: 'Unknown or revoked token.' },
  overview: { 'pt-BR': 'Visão geral', en: 'Overview' },
  conflicts: { 'pt-BR': 'Conflitos', en: 'Conflicts' },
  devices: { 'pt-BR': 'Dispositivos', en: 'Devices' },
  agents: { 'pt-BR': 'Agentes', en: 'Agents' },
  alerts: { 'pt-BR': 'Alertas', en: 'Alerts' },
  language: { 'pt-BR': 'Idioma', en: 'Language' },
  store: { 'pt-BR': 'Loja', en: 'Store' },
  terminal: { 'pt-BR': 'Terminal', en: 'Terminal' },
  status: { 'pt-BR': 'Estado', en: 'Status' },
  lastSeen: { 'pt-BR': 'Visto por último', en: 'Last seen' },
  lastSync: { 'pt-BR': 'Última sincronização', en: 'Last successful sync' },
  backlog: { 'pt-BR': 'Pendentes', en: 'Backlog' },
  oldestUnsent: { 'pt-BR': 'Mais antigo não enviado', en: 'Oldest unsent' },
  deadLetters: { 'pt-BR': 'Rejeitados', en: 'Dead letters' },
  openConflicts: { 'pt-BR': 'Conflitos', en: 'Conflicts' },
  cursorLag: { 'pt-BR': 'Atraso do cursor', en: 'Cursor lag' },
  versions: { 'pt-BR': 'SDK / esquema', en: 'SDK / schema' },
  live: { 'pt-BR': 'Ao vivo', en: 'Live' },
  reconnecting: { 'pt-BR': 'Reconectando…', en: 'Reconnecting…' },
  terminals: { 'pt-BR': 'terminais', en: 'terminals' },
  noTerminals: { 'pt-BR': 'Nenhum terminal reportou ainda.', en: 'No terminal has reported yet.' },
  back: { 'pt-BR': '← Voltar', en: '← Back' },
  timeline: { 'pt-BR': 'Linha do tempo', en: 'Timeline' },
  divergentRows: { 'pt-BR': 'Linhas divergentes', en: 'Divergent rows' },
  divergenceKind: { 'pt-BR': 'Diferença', en: 'Difference' },
  repair: { 'pt-BR': 'Reparar', en: 'Repair' },
  repairAll: { 'pt-BR': 'Reparar todas', en: 'Repair all' },
  repairPending: {
    'pt-BR': 'Reparo pedido; o terminal aplica na próxima sincronização.',
    en: 'Repair requested; the terminal applies it at its next sync.',
  },
  repairServerWins: { 'pt-BR': 'vale a do servidor', en: "server's copy wins" },
  repairResend: { 'pt-BR': 'terminal reenvia a sua', en: 'terminal re-sends its own' },
  'kind-changed': { 'pt-BR': 'valores diferentes', en: 'values differ' },
  'kind-missing-on-terminal': { 'pt-BR': 'falta no terminal', en: 'missing on the terminal' },
  'kind-extra-on-terminal': { 'pt-BR': 'só no terminal', en: 'only on the terminal' },
  record: { 'pt-BR': 'Registro', en: 'Record' },
  reason: { 'pt-BR': 'Motivo', en: 'Reason' },
  table: { 'pt-BR': 'Tabela', en: 'Table' },
  row: { 'pt-BR': 'Linha', en: 'Row' },
  resend: { 'pt-BR': 'Reenviar', en: 'Resend' },
  discard: { 'pt-BR': 'Descartar', en: 'Discard' },
  why: { 'pt-BR': 'Por quê? (fica no registro de auditoria)', en: 'Why? (kept in the audit log)' },
  queued: {
    'pt-BR': 'Ação enviada: o terminal a executa no próximo contato.',
    en: 'Action queued: the terminal carries it out at its next contact.',
  },
  terminalValue: { 'pt-BR': 'Valor do terminal', en: 'Terminal value' },
  serverValue: { 'pt-BR': 'Valor do servidor', en: 'Server value' },
  reconciliations: { 'pt-BR': 'Reconciliações', en: 'Reconciliations' },
  consistent: { 'pt-BR': 'Consistente', en: 'Consistent' },
  divergent: { 'pt-BR': 'Divergente', en: 'Divergent' },
  audit: { 'pt-BR': 'Auditoria', en: 'Audit log' },
  none: { 'pt-BR': 'Nada por aqui.', en: 'Nothing here.' },
  period: { 'pt-BR': 'Período', en: 'Period' },
  from: { 'pt-BR': 'De', en: 'From' },
  to: { 'pt-BR': 'Até', en: 'To' },
  filter: { 'pt-BR': 'Filtrar', en: 'Filter' },
  all: { 'pt-BR': 'Todas', en: 'All' },
  resolution: { 'pt-BR': 'Resolução', en: 'Resolution' },
  when: { 'pt-BR': 'Quando', en: 'When' },
  machine: { 'pt-BR': 'Máquina / nome', en: 'Machine / name' },
  role: { 'pt-BR': 'Papel', en: 'Role' },
  roleDevice: { 'pt-BR': 'Terminal', en: 'Terminal' },
  roleManager: { 'pt-BR': 'Gerente de loja', en: 'Store manager' },
  roleAdmin: { 'pt-BR': 'Administrador', en: 'Admin' },
  create: { 'pt-BR': 'Criar token', en: 'Create token' },
  created: {
    'pt-BR': 'Token criado. Ele é mostrado só desta vez: copie e guarde.',
    en: 'Token created. It is shown only this once: copy it now.',
  },
  copy: { 'pt-BR': 'Copiar', en: 'Copy' },
  copied: { 'pt-BR': 'Copiado', en: 'Copied' },
  revoke: { 'pt-BR': 'Revogar', en: 'Revoke' },
  revoked: { 'pt-BR': 'Revogado', en: 'Revoked' },
  active: { 'pt-BR': 'Ativo', en: 'Active' },
  lastWindow: { 'pt-BR': 'Última janela entregue', en: 'Last window delivered' },
  windowsBehind: { 'pt-BR': 'Janelas em atraso', en: 'Windows behind' },
  warnings: { 'pt-BR': 'Avisos', en: 'Warnings' },
  shifts: { 'pt-BR': 'Turnos fechados (quebra de caixa)', en: 'Closed shifts (cash difference)' },
  recentAlerts: { 'pt-BR': 'Alertas recentes', en: 'Recent alerts' },
  resolved: { 'pt-BR': 'Resolvido', en: 'Resolved' },
  open: { 'pt-BR': 'Aberto', en: 'Open' },
  error: { 'pt-BR': 'Erro', en: 'Error' },
  ago: { 'pt-BR': 'há {n}', en: '{n} ago' },
  never: { 'pt-BR': 'nunca', en: 'never' },
  search: { 'pt-BR': 'Buscar terminal', en: 'Search terminal' },
} as const;

export type TextKey = keyof typeof text;

export const badgeText = {
  idle: { 'pt-BR': 'Aguardando', en: 'Waiting' },
  syncing: { 'pt-BR': 'Sincronizando', en: 'Syncing' },
  synced: { 'pt-BR': 'Sincronizado', en: 'Synced' },
  diverged: { 'pt-BR': 'Com Divergência', en: 'Diverged' },
  offline: { 'pt-BR': 'Offline/Erro', en: 'Offline/Error' },
} as const;
export type Badge = keyof typeof badgeText;

export function translate(lang: Lang, key: TextKey, vars: Record<string, string | number> = {}) {
  return text[key][lang].replace(/\{(\w+)\}/g, (_m, k: string) => String(vars[k] ?? ''));
}

/** "há 3 min" / "3 min ago". */
export function ago(lang: Lang, iso: string | null, now: number): string {
  if (!iso) return translate(lang, 'never');
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  const n =
    s < 60
      ? `${s} s`
      : s < 3600
        ? `${Math.floor(s / 60)} min`
        : s < 86400
          ? `${Math.floor(s / 3600)} h`
          : `${Math.floor(s / 86400)} d`;
  return translate(lang, 'ago', { n });
}
