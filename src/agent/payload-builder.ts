import {
  agentPayloadSchema,
  agentPayloadVersion,
  agentSyncId,
  SyncError,
  type AgentChannel,
  type AgentPayload,
  type AgentTurno,
  type AgentVenda,
} from '../protocol/index.js';
import type { ChannelRows } from './extract.js';
import { parseSourceTimestamp, toIsoWithOffset } from './local-time.js';
import type { SourceRow } from './sources/source-db.js';
import { windowMinutes, type SyncWindow } from './window.js';

export type PayloadInput = {
  window: SyncWindow;
  offsetMinutes: number;
  store: { idPontoVenda: number; idFilial: number | null };
  /** null: the source was not read (its failure is in `warnings`). */
  caixa: ChannelRows | null;
  gestao: ChannelRows | null;
  warnings: string[];
};

/** Text of a column value (strings, numbers, bigints and booleans as themselves). */
const str = (v: unknown): string =>
  typeof v === 'string'
    ? v
    : typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean'
      ? `${v}`
      : v instanceof Date
        ? v.toISOString()
        : JSON.stringify(v);
const money = (v: unknown): number => Math.round(Number(v ?? 0) * 100) / 100;
const num = (v: unknown): number => Number(v);
const text = (v: unknown): string | null => (v === null || v === undefined ? null : str(v));
const flag = (v: unknown): boolean =>
  v === true || v === 1 || v === '1' || v === 'true' || v === 't';
/** Ids may come back as bigint or numeric text: a safe integer stays a number. */
const intId = (v: unknown): number => Number(v);
const productId = (v: unknown): number | string => {
  const n = Number(v);
  return typeof v !== 'string' && Number.isSafeInteger(n) ? n : /^\d+$/.test(str(v)) ? n : str(v);
};

function byOperacao(rows: SourceRow[]): Map<number, SourceRow[]> {
  const out = new Map<number, SourceRow[]>();
  for (const r of rows) {
    const id = intId(r['id_operacao']);
    const list = out.get(id);
    if (list) list.push(r);
    else out.set(id, [r]);
  }
  return out;
}

function vendas(
  canal: AgentChannel,
  rows: ChannelRows,
  ts: (v: unknown) => string | null,
): AgentVenda[] {
  const itens = byOperacao(rows.itens);
  const pagamentos = byOperacao(rows.pagamentos);
  return rows.vendas.map((v) => {
    const id = intId(v['id_operacao']);
    return {
      canal,
      id_operacao: id,
      id_turno: text(v['id_turno']),
      data_hora: ts(v['data_hora']) ?? '',
      total: money(v['total']),
      desconto: v['desconto'] === null || v['desconto'] === undefined ? null : money(v['desconto']),
      operador: text(v['operador']),
      itens: (itens.get(id) ?? []).map((i) => ({
        id_produto: productId(i['id_produto']),
        nome: text(i['nome']),
        qtd: num(i['qtd']),
        preco_unitario:
          i['preco_unitario'] === null || i['preco_unitario'] === undefined
            ? null
            : money(i['preco_unitario']),
        total: money(i['total']),
      })),
      pagamentos: (pagamentos.get(id) ?? []).map((p) => ({
        meio: str(p['meio'] ?? 'Desconhecido'),
        valor: money(p['valor']),
        parcelas:
          p['parcelas'] === null || p['parcelas'] === undefined ? null : intId(p['parcelas']),
      })),
    };
  });
}

function turnos(
  canal: AgentChannel,
  rows: ChannelRows,
  ts: (v: unknown) => string | null,
): AgentTurno[] {
  const meios = new Map<string, SourceRow[]>();
  for (const m of rows.turnos_meios) {
    const id = str(m['id_turno']);
    meios.set(id, [...(meios.get(id) ?? []), m]);
  }
  const sangrias = new Map<string, SourceRow[]>();
  for (const s of rows.sangrias) {
    const id = str(s['id_turno']);
    sangrias.set(id, [...(sangrias.get(id) ?? []), s]);
  }
  return rows.turnos.map((t) => {
    const id = str(t['id_turno']);
    const fechado = flag(t['fechado']);
    const sistema: Record<string, number> = { total: money(t['total_sistema']) };
    const declarado: Record<string, number> = { total: money(t['total_declarado']) };
    for (const m of meios.get(id) ?? []) {
      const meio = str(m['meio']);
      if (meio === 'total') continue;
      (m['tipo'] === 'declarado' ? declarado : sistema)[meio] = money(m['valor']);
    }
    return {
      canal,
      id_turno: id,
      fechado,
      aberto_em: ts(t['aberto_em']),
      fechado_em: ts(t['fechado_em']),
      totais_sistema: sistema as AgentTurno['totais_sistema'],
      fechamento_declarado: fechado ? (declarado as AgentTurno['totais_sistema']) : null,
      operador: {
        id:
          t['operador_id'] === null || t['operador_id'] === undefined
            ? null
            : productId(t['operador_id']),
        nome: text(t['operador_nome']),
      },
      sangrias: (sangrias.get(id) ?? []).map((s) => ({
        id_operacao: intId(s['id_operacao']),
        valor: money(s['valor']),
        data_hora: ts(s['data_hora']) ?? '',
        motivo: text(s['motivo']),
      })),
    };
  });
}

/**
 * Turns one window's rows into the v4 payload (seed 001), validates it with the
 * protocol's zod schema and stamps `integrity.sync_id`. Deterministic: the same rows
 * give the same bytes, so the same window read twice has the same sync_id.
 * Sales are ordered by channel then `id_operacao`; items and payments keep the
 * query files' order. Throws AGENT_PAYLOAD_INVALID naming the first bad field.
 */
export function buildPayload(input: PayloadInput): AgentPayload {
  const { offsetMinutes } = input;
  const ts = (v: unknown): string | null => {
    if (v === null || v === undefined) return null;
    const ms = v instanceof Date ? v.getTime() : parseSourceTimestamp(str(v), offsetMinutes);
    return toIsoWithOffset(ms, offsetMinutes);
  };
  const allVendas: AgentVenda[] = [];
  const allTurnos: AgentTurno[] = [];
  for (const [canal, rows] of [
    ['HIPER_CAIXA', input.caixa],
    ['HIPER_LOJA', input.gestao],
  ] as const) {
    if (!rows) continue;
    allVendas.push(...vendas(canal, rows, ts));
    allTurnos.push(...turnos(canal, rows, ts));
  }
  allVendas.sort((a, b) =>
    a.canal === b.canal ? a.id_operacao - b.id_operacao : a.canal < b.canal ? -1 : 1,
  );
  const closed = allTurnos.some((t) => t.fechado);
  const draft = {
    schema_version: agentPayloadVersion,
    event_type:
      closed && allVendas.length > 0 ? 'mixed' : closed ? 'turno_closure' : ('sales' as const),
    store: { id_ponto_venda: input.store.idPontoVenda, id_filial: input.store.idFilial },
    window: {
      from: toIsoWithOffset(input.window.fromMs, offsetMinutes),
      to: toIsoWithOffset(input.window.toMs, offsetMinutes),
      minutes: windowMinutes(input.window),
    },
    integrity: { sync_id: '0'.repeat(64), warnings: [...input.warnings] },
    turnos: allTurnos,
    vendas: allVendas,
  };
  const parsed = agentPayloadSchema.safeParse(draft);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    throw new SyncError(
      'AGENT_PAYLOAD_INVALID',
      `payload field ${path}: ${issue?.message ?? 'invalid'} — check the column in the query file`,
      { details: { issues: parsed.error.issues.slice(0, 10) } },
    );
  }
  const payload = parsed.data;
  payload.integrity.sync_id = agentSyncId(payload);
  return payload;
}
