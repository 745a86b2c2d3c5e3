import { createHash } from 'node:crypto';
import { findBadText } from './payload-text.js';
import {
  columnsOf,
  decimalToNumber,
  decimalUnits,
  formatDecimal,
  parseDecimal,
  roundDecimal,
  validateRecord,
  type AgentChannel,
  type AgentPayloadIngest,
  type TableDef,
  type TableNames,
} from '../../protocol/index.js';

/** The sync tables an agent payload is stored into, in the order they are written. */
export const ingestTables = ['turnos', 'sangrias', 'vendas', 'itens_venda', 'pagamentos'] as const;
export type IngestTable = (typeof ingestTables)[number];

/** The columns the ingest writes; the sync schema must declare them (checked once, at start). */
export const ingestColumns: Record<IngestTable, readonly string[]> = {
  turnos: [
    'id',
    'store_id',
    'canal',
    'id_turno',
    'fechado',
    'aberto_em',
    'fechado_em',
    'totais_sistema',
    'fechamento_declarado',
    'operador',
    'quebra',
  ],
  sangrias: ['id', 'store_id', 'id_turno', 'valor', 'motivo', 'operador', 'data_hora'],
  vendas: [
    'id',
    'store_id',
    'canal',
    'id_operacao',
    'id_turno',
    'data_hora',
    'total',
    'desconto',
    'operador',
  ],
  itens_venda: [
    'id',
    'store_id',
    'venda_id',
    'id_produto',
    'nome',
    'qtd',
    'preco_unitario',
    'total',
  ],
  pagamentos: ['id', 'store_id', 'venda_id', 'meio', 'valor', 'parcelas'],
};

export type Quebra = { canal: AgentChannel; id_turno: string; quebra: number };

/** A payload as rows of the sync tables, validated against their declarations. */
export type PayloadRows = {
  rows: Record<IngestTable, Record<string, unknown>[]>;
  /** The vendas the payload carries whole: their items and payments not listed are gone at the source. */
  vendaIds: string[];
  quebras: Quebra[];
  /** What the server noticed in the payload (kept with the agent's own warnings). */
  notes: string[];
};

export type RowIssue = { path: string; message: string };

/**
 * The id of a row made from an agent payload: `venda:<store>:<canal>:<id_operacao>`.
 * Deterministic in (store, kind, canal, source id), so the same venda or turno read again,
 * in an overlapping window or re-extracted with other content, lands on the same row and
 * never on a second one; the store is part of it, so two stores whose source systems
 * number alike never share a row. Operation numbers are zero-padded: a store's new sales
 * append to its end of the primary key instead of landing at random places (PITFALLS #12).
 * Injective: store ids and channels hold no `:`; a shift id too long for the 128 characters
 * of a row id is replaced by `#` and its hash (shift ids that start with `#` always are).
 */
export function ingestRowId(
  storeId: string,
  kind: 'venda' | 'turno' | 'sangria',
  canal: AgentChannel,
  sourceId: string | number,
): string {
  const store = /^[A-Za-z0-9_.-]{1,64}$/.test(storeId) ? storeId : `#${sha256(storeId, 32)}`;
  const prefix = `${kind}:${store}:${canal}:`;
  if (typeof sourceId === 'number')
    return `${prefix}${sourceId < 0 ? '-' : ''}${String(Math.abs(sourceId)).padStart(16, '0')}`;
  const direct = `${prefix}${sourceId}`;
  return direct.length <= 128 && !sourceId.startsWith('#')
    ? direct
    : `${prefix}#${sha256(sourceId, 40)}`;
}

function sha256(value: string, hexDigits: number): string {
  return createHash('sha256').update(value).digest('hex').slice(0, hexDigits);
}

type TurnoTotals = {
  fechado: boolean;
  totais_sistema: { total: number };
  fechamento_declarado: { total: number } | null;
};

/** A shift total in exact cents: as the coercion rule reads it, else rounded as PostgreSQL would. */
function cents(total: number): bigint | null {
  const exact = decimalUnits(total, 2);
  if (exact.ok) return exact.units;
  const rounded = roundDecimal(total, 2);
  if (rounded === null) return null;
  const parsed = parseDecimal(rounded, 2);
  return parsed.ok ? parsed.units : null;
}

/**
 * Quebra de caixa: declared minus system total, computed exactly in cents (no binary
 * rounding: 1000.10 − 1000.30 is −0.20, not −0.19999999999993179); canonical text (`"-2.00"`),
 * null while the shift is open or undeclared.
 */
export function quebraOf(turno: TurnoTotals): string | null {
  if (!turno.fechado || !turno.fechamento_declarado) return null;
  const declared = cents(turno.fechamento_declarado.total);
  const system = cents(turno.totais_sistema.total);
  if (declared === null || system === null) return null;
  return formatDecimal(declared - system, 2);
}

/** Keeps the last of each key, in first-seen order; counts what was dropped. */
function lastByKey<T>(
  items: readonly T[],
  key: (item: T) => string,
): { kept: T[]; dropped: number } {
  const byKey = new Map<string, T>();
  for (const item of items) byKey.set(key(item), item);
  return { kept: [...byKey.values()], dropped: items.length - byKey.size };
}

/** Checks that the sync schema declares every table and column the ingest writes. */
export function missingIngestColumns(names: TableNames): string[] {
  const missing: string[] = [];
  for (const name of ingestTables) {
    const table = names.resolve(name);
    if (!table) missing.push(name);
    else
      for (const c of ingestColumns[name])
        if (!columnsOf(table).has(c)) missing.push(`${name}.${c}`);
  }
  return missing;
}

/**
 * Maps a payload to the rows of turnos, sangrias, vendas, itens_venda and pagamentos of
 * one store, and checks each row against its table as a pushed record would be (naive
 * timestamps read in the store's `timeZone`). Returns
 * the rows, or the issues (with the payload path of each) when a row cannot be stored.
 */
export function payloadRows(
  names: TableNames,
  storeId: string,
  payload: AgentPayloadIngest,
  timeZone: string,
): PayloadRows | { issues: RowIssue[] } {
  // Refused, not cleaned: a NUL or lone surrogate changes the meaning of what it sits in.
  const bad = findBadText(payload);
  if (bad) return { issues: [bad] };
  const out: PayloadRows = {
    rows: { turnos: [], sangrias: [], vendas: [], itens_venda: [], pagamentos: [] },
    vendaIds: [],
    quebras: [],
    notes: [],
  };
  const issues: RowIssue[] = [];
  const add = (table: IngestTable, path: string, record: Record<string, unknown>) => {
    const def = names.resolve(table) as TableDef;
    const checked = validateRecord(def, record, { partial: false, timeZone });
    if (checked.ok) out.rows[table].push(checked.values);
    else if (issues.length < 20) issues.push({ path, message: checked.message });
  };

  const turnos = lastByKey(
    payload.turnos.map((t, i) => ({ t, i })),
    ({ t }) => `${t.canal}\u0000${t.id_turno}`,
  );
  if (turnos.dropped > 0)
    out.notes.push(`DUPLICATE_TURNO: ${turnos.dropped} repeated turno(s), the last one kept`);
  const sangriaIds = new Set<string>();
  for (const { t, i } of turnos.kept) {
    const id = ingestRowId(storeId, 'turno', t.canal, t.id_turno);
    const quebra = quebraOf(t);
    // The answer's quebra is a JSON number, as the agent's document has it (exact: ≤15 digits).
    if (quebra !== null)
      out.quebras.push({ canal: t.canal, id_turno: t.id_turno, quebra: decimalToNumber(quebra) });
    add('turnos', `body.turnos.${i}`, {
      id,
      store_id: storeId,
      canal: t.canal,
      id_turno: t.id_turno,
      fechado: t.fechado,
      aberto_em: t.aberto_em ?? null,
      fechado_em: t.fechado_em ?? null,
      totais_sistema: t.totais_sistema,
      fechamento_declarado: t.fechamento_declarado,
      operador: t.operador,
      quebra,
    });
    t.sangrias.forEach((s, j) => {
      const sid = ingestRowId(storeId, 'sangria', t.canal, s.id_operacao);
      if (sangriaIds.has(sid)) return;
      sangriaIds.add(sid);
      add('sangrias', `body.turnos.${i}.sangrias.${j}`, {
        id: sid,
        store_id: storeId,
        id_turno: t.id_turno,
        valor: s.valor,
        motivo: s.motivo ?? null,
        operador: t.operador.nome,
        data_hora: s.data_hora,
      });
    });
  }

  const vendas = lastByKey(
    payload.vendas.map((v, i) => ({ v, i })),
    ({ v }) => `${v.canal}\u0000${v.id_operacao}`,
  );
  if (vendas.dropped > 0)
    out.notes.push(`DUPLICATE_VENDA: ${vendas.dropped} repeated venda(s), the last one kept`);
  for (const { v, i } of vendas.kept) {
    const id = ingestRowId(storeId, 'venda', v.canal, v.id_operacao);
    out.vendaIds.push(id);
    add('vendas', `body.vendas.${i}`, {
      id,
      store_id: storeId,
      canal: v.canal,
      id_operacao: v.id_operacao,
      id_turno: v.id_turno ?? null,
      // The document's example carries no time of sale: the window's end bounds it.
      data_hora: v.data_hora ?? payload.window.to,
      total: v.total,
      desconto: v.desconto ?? null,
      operador: v.operador ?? null,
    });
    // Lines have no id of their own at the source: their position in the sale is their identity.
    v.itens.forEach((item, j) =>
      add('itens_venda', `body.vendas.${i}.itens.${j}`, {
        id: `${id}:i${j + 1}`,
        store_id: storeId,
        venda_id: id,
        id_produto: String(item.id_produto),
        nome: item.nome,
        qtd: item.qtd,
        preco_unitario: item.preco_unitario ?? null,
        total: item.total,
      }),
    );
    v.pagamentos.forEach((p, j) =>
      add('pagamentos', `body.vendas.${i}.pagamentos.${j}`, {
        id: `${id}:p${j + 1}`,
        store_id: storeId,
        venda_id: id,
        meio: p.meio,
        valor: p.valor,
        parcelas: p.parcelas ?? null,
      }),
    );
  }
  return issues.length > 0 ? { issues } : out;
}
