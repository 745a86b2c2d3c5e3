import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { z } from 'zod';

/**
 * The sync agent's payload, version 4 (seed 001): one time window of one store's
 * sales and shift closures, read from the front-of-store (`HIPER_CAIXA`) and the
 * back-office (`HIPER_LOJA`) databases. Shared by the agent that builds it and the
 * server's `POST /api/ingest/v4` that stores it.
 */
export const agentPayloadVersion = '4.0.0';

export const agentChannels = ['HIPER_CAIXA', 'HIPER_LOJA'] as const;
export type AgentChannel = (typeof agentChannels)[number];

/** Warnings the agent may attach; the payload still carries whatever could be read. */
export const agentWarnings = ['GESTAO_DB_FAILURE', 'CAIXA_DB_FAILURE', 'CATCH_UP'] as const;

const isoWithOffset = z.iso.datetime({ offset: true });
const money = z.number().finite();

export const agentOperadorSchema = z.object({
  id: z.union([z.string(), z.number().int()]).nullable().optional(),
  nome: z.string().max(200).nullable(),
});

export const agentSangriaSchema = z.object({
  id_operacao: z.number().int(),
  valor: money,
  data_hora: isoWithOffset,
  motivo: z.string().max(500).nullable().optional(),
});

export const agentTurnoSchema = z.object({
  canal: z.enum(agentChannels),
  id_turno: z.string().min(1).max(100),
  fechado: z.boolean(),
  aberto_em: isoWithOffset.nullable().optional(),
  fechado_em: isoWithOffset.nullable().optional(),
  /** What the system recorded for the shift (sales by payment method summed). */
  totais_sistema: z.object({ total: money }).catchall(money),
  /** What the operator counted and declared at closing; null while the shift is open. */
  fechamento_declarado: z.object({ total: money }).catchall(money).nullable(),
  operador: agentOperadorSchema,
  /** Cash withdrawals (operation type 4) of this shift inside the window. */
  sangrias: z.array(agentSangriaSchema).default([]),
});
export type AgentTurno = z.infer<typeof agentTurnoSchema>;

export const agentItemSchema = z.object({
  id_produto: z.union([z.number().int(), z.string().min(1).max(100)]),
  nome: z.string().max(500).nullable(),
  qtd: z.number().finite(),
  preco_unitario: money.nullable().optional(),
  total: money,
});

export const agentPagamentoSchema = z.object({
  meio: z.string().min(1).max(100),
  valor: money,
  parcelas: z.number().int().min(1).nullable().optional(),
});

export const agentVendaSchema = z.object({
  canal: z.enum(agentChannels),
  id_operacao: z.number().int(),
  id_turno: z.string().max(100).nullable().optional(),
  data_hora: isoWithOffset,
  total: money,
  desconto: money.nullable().optional(),
  operador: z.string().max(200).nullable().optional(),
  itens: z.array(agentItemSchema),
  pagamentos: z.array(agentPagamentoSchema),
});
export type AgentVenda = z.infer<typeof agentVendaSchema>;

export const agentPayloadSchema = z.object({
  schema_version: z.literal(agentPayloadVersion),
  event_type: z.enum(['sales', 'turno_closure', 'mixed']),
  store: z.object({
    id_ponto_venda: z.number().int(),
    /** The back office's branch id; may differ from the front-of-store's. */
    id_filial: z.number().int().nullable(),
  }),
  window: z.object({
    from: isoWithOffset,
    to: isoWithOffset,
    minutes: z.number().int().nonnegative(),
  }),
  integrity: z.object({
    /** SHA-256 (hex) of the canonical payload without this field: a resend is recognisably the same. */
    sync_id: z.string().regex(/^[0-9a-f]{64}$/),
    warnings: z.array(z.string().max(200)),
  }),
  turnos: z.array(agentTurnoSchema),
  vendas: z.array(agentVendaSchema),
});
export type AgentPayload = z.infer<typeof agentPayloadSchema>;

export const ingestResponseSchema = z.object({
  syncId: z.string(),
  status: z.enum(['stored', 'duplicate']),
  vendas: z.number().int(),
  turnos: z.number().int(),
  /** Per shift closed in this payload, declared minus system total (negative = cash short). */
  quebras: z.array(
    z.object({
      /** Added by the server: shift ids are per channel, so the same id may appear in both. */
      canal: z.enum(agentChannels).optional(),
      id_turno: z.string(),
      quebra: z.number(),
    }),
  ),
});
export type IngestResponse = z.infer<typeof ingestResponseSchema>;

/**
 * The payload's `integrity.sync_id`: SHA-256 of its RFC 8785 canonical JSON with
 * `sync_id` left out, so the same window read twice gives the same id and any
 * change to its content gives another.
 */
export function agentSyncId(
  payload: Omit<AgentPayload, 'integrity'> & {
    integrity: { warnings: string[]; sync_id?: string };
  },
): string {
  const { integrity, ...rest } = payload;
  const canonical = canonicalize({ ...rest, integrity: { warnings: integrity.warnings } });
  if (canonical === undefined) throw new TypeError('payload cannot be canonicalized');
  return createHash('sha256').update(canonical).digest('hex');
}
