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
/** An amount as our agent sends it (its source columns are DECIMAL(12,2)): read exactly on ingest. */
export const agentMoneySchema = z.number().finite();
const money = agentMoneySchema;

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

/**
 * What `POST /api/ingest/v4` accepts: any v4 agent's payload, not only ours. Our agent
 * builds `agentPayloadSchema` (strict); other agents written from the same document
 * serialize differently, so the door is lenient where the meaning stays unambiguous:
 * - `integrity.sync_id` is an opaque idempotency key (any 1..128 characters), never
 *   required to be our hash;
 * - fields the document does not promise are optional, with fallbacks: a sale without
 *   `data_hora` takes its window's end (`ingestFallbacks`), missing lists are empty,
 *   `window.minutes` is derived, `store.id_filial` is null;
 * - numbers may arrive as numeric text and ids as numbers (`"1000.00"`, `"999"`, `12345`);
 *   text that is not a plain decimal number (`"500,00"`) is refused naming the field;
 * - unknown fields are kept in the parsed payload (the server stores the body as sent).
 * The output has the shape of `AgentPayload` (with `data_hora` still optional), so the
 * server maps both alike.
 */
/** Significant digits of a plain numeric text (`"1000.00"` has 4, `"0.05"` has 1). */
function significantDigits(text: string): number {
  const [int = '', frac = ''] = text
    .trim()
    .replace(/^-/, '')
    .replace(/[eE].*$/, '')
    .split('.');
  return (int + frac.replace(/0+$/, '')).replace(/^0+/, '').length;
}

const looseMoney = z.union([
  z.number().finite(),
  z
    .string()
    .regex(
      /^\s*-?\d+(\.\d+)?([eE][-+]?\d+)?\s*$/,
      'a number (decimal point, no thousands separator)',
    )
    // Read as a number: exact up to 15 significant digits; a longer amount would lose cents.
    .refine((s) => significantDigits(s) <= 15, 'a number of at most 15 significant digits')
    .transform(Number)
    .pipe(z.number().finite()),
]);
const looseInt = z.union([
  z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER),
  z
    .string()
    .regex(/^\s*-?\d{1,15}\s*$/, 'an integer')
    .transform(Number),
]);
/** Source ids (shift, product): text as sent, or an integer as its decimal text. */
const looseText = (max: number) =>
  z.union([
    z.string().min(1).max(max),
    z
      .number()
      .int()
      .min(Number.MIN_SAFE_INTEGER)
      .max(Number.MAX_SAFE_INTEGER)
      .transform((n) => String(n)),
  ]);
const looseBool = z.union([
  z.boolean(),
  z.literal(0).transform(() => false),
  z.literal(1).transform(() => true),
  z.enum(['true', 'false', '0', '1']).transform((s) => s === 'true' || s === '1'),
]);
const looseTotals = z.looseObject({ total: looseMoney });

export const agentPayloadIngestSchema = z
  .looseObject({
    /** Any 4.x agent. */
    schema_version: z.string().regex(/^4(\.\d+){0,2}$/, 'a 4.x version ("4.0.0")'),
    event_type: z.enum(['sales', 'turno_closure', 'mixed']).default('mixed'),
    store: z.looseObject({
      id_ponto_venda: looseInt,
      id_filial: looseInt.nullable().default(null),
    }),
    window: z.looseObject({
      from: isoWithOffset,
      to: isoWithOffset,
      minutes: looseInt.optional(),
    }),
    integrity: z.looseObject({
      sync_id: z.string().min(1).max(128),
      warnings: z.array(z.string().max(200)).default([]),
    }),
    turnos: z
      .array(
        z.looseObject({
          canal: z.enum(agentChannels),
          id_turno: looseText(100),
          fechado: looseBool,
          aberto_em: isoWithOffset.nullable().optional(),
          fechado_em: isoWithOffset.nullable().optional(),
          totais_sistema: looseTotals,
          fechamento_declarado: looseTotals.nullable().default(null),
          operador: z
            .union([
              z.looseObject({
                id: z.union([z.string(), z.number().int()]).nullable().optional(),
                nome: z.string().max(200).nullable().default(null),
              }),
              z
                .string()
                .max(200)
                .transform((nome) => ({ nome })),
            ])
            .nullable()
            .default(null)
            .transform((o) => o ?? { nome: null }),
          sangrias: z
            .array(
              z.looseObject({
                id_operacao: looseInt,
                valor: looseMoney,
                data_hora: isoWithOffset,
                motivo: z.string().max(500).nullable().optional(),
              }),
            )
            .default([]),
        }),
      )
      .default([]),
    vendas: z
      .array(
        z.looseObject({
          canal: z.enum(agentChannels),
          id_operacao: looseInt,
          id_turno: looseText(100).nullable().optional(),
          /** Optional: a sale without one takes its window's end. */
          data_hora: isoWithOffset.optional(),
          total: looseMoney,
          desconto: looseMoney.nullable().optional(),
          operador: z.string().max(200).nullable().optional(),
          itens: z
            .array(
              z.looseObject({
                id_produto: z.union([z.number().int(), z.string().min(1).max(100)]),
                nome: z.string().max(500).nullable().default(null),
                qtd: looseMoney,
                preco_unitario: looseMoney.nullable().optional(),
                total: looseMoney,
              }),
            )
            .default([]),
          pagamentos: z
            .array(
              z.looseObject({
                meio: z.string().min(1).max(100),
                valor: looseMoney,
                parcelas: looseInt.pipe(z.number().int().min(1)).nullable().optional(),
              }),
            )
            .default([]),
        }),
      )
      .default([]),
  })
  .transform((p) => ({
    ...p,
    window: {
      ...p.window,
      minutes:
        p.window.minutes ??
        Math.max(0, Math.round((Date.parse(p.window.to) - Date.parse(p.window.from)) / 60_000)),
    },
  }));
export type AgentPayloadIngest = z.output<typeof agentPayloadIngestSchema>;

/** The fallbacks the server applies to fields an agent may leave out (documented in docs/protocol.md). */
export const ingestFallbacks = {
  'vendas[].data_hora': "the window's end (`window.to`)",
  'vendas[].itens, vendas[].pagamentos, turnos, vendas, turnos[].sangrias': 'empty',
  'store.id_filial': 'null',
  'window.minutes': 'derived from `window.from` and `window.to`',
  'integrity.warnings': 'empty',
  event_type: '"mixed"',
  'turnos[].fechamento_declarado': 'null (the shift has no declared count: no quebra)',
  'turnos[].operador': '{ "nome": null }',
} as const;

/** One venda, turno or sangria of a payload that was not stored, and why. */
export const ingestNotStoredSchema = z.object({
  kind: z.enum(['venda', 'turno', 'sangria']),
  canal: z.enum(agentChannels),
  /** The source's id (`id_operacao` or `id_turno`). */
  sourceId: z.string(),
  code: z.string(),
  reason: z.string(),
});
export type IngestNotStored = z.infer<typeof ingestNotStoredSchema>;

export const ingestResponseSchema = z.object({
  syncId: z.string(),
  status: z.enum(['stored', 'duplicate']),
  /** The sales stored (a sale listed in `notStored` is not counted). */
  vendas: z.number().int(),
  turnos: z.number().int(),
  /** Present when some sales, shifts or withdrawals of the payload could not be stored. */
  notStored: z.array(ingestNotStoredSchema).optional(),
  /** Present when the server noticed something (e.g. a sync_id that is not the content's hash). */
  warnings: z.array(z.string()).optional(),
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
