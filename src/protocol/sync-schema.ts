import { z } from 'zod';

/** Column types a sync table may declare; each maps to a real typed column on both dialects. */
export const columnTypes = [
  'text',
  'integer',
  'number',
  'decimal',
  'boolean',
  'timestamp',
  'json',
] as const;
export type ColumnType = (typeof columnTypes)[number];

export const directions = ['down', 'up', 'both'] as const;
export type Direction = (typeof directions)[number];

export const tableKinds = ['mutable', 'event'] as const;
export type TableKind = (typeof tableKinds)[number];

export const conflictPolicies = ['server-wins', 'client-wins', 'last-write-wins'] as const;
export type ConflictPolicy = (typeof conflictPolicies)[number];

const identifier = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,62}$/, 'lower-case letters, digits and _, starting with a letter');

export const columnSchema = z
  .object({
    name: identifier,
    type: z.enum(columnTypes),
    required: z.boolean().default(false),
    /** A numeric column merged by adding each writer's delta instead of overwriting (stock quantities). */
    counter: z.boolean().optional(),
    /** Decimals a `decimal` column keeps (money: 2, the default); its precision is 18 digits. */
    scale: z.number().int().min(0).max(8).optional(),
  })
  .refine((c) => !c.counter || c.type === 'integer' || c.type === 'number', {
    message: 'only integer or number columns can be counters',
  })
  .refine((c) => c.scale === undefined || c.type === 'decimal', {
    message: 'only decimal columns have a scale',
  });
export type ColumnDef = z.infer<typeof columnSchema>;

/** Roles a token can have; a table's `writeRoles` lists those allowed to write it. */
export const writerRoles = ['admin', 'device', 'manager'] as const;
export type WriterRole = (typeof writerRoles)[number];

export const tableSchema = z
  .object({
    name: identifier,
    aliases: z.array(identifier).default([]),
    direction: z.enum(directions),
    kind: z.enum(tableKinds).default('mutable'),
    scope: z.enum(['global', 'store']).default('global'),
    storeColumn: identifier.nullable().default(null),
    policy: z.enum(conflictPolicies).default('server-wins'),
    columns: z.array(columnSchema).min(1),
    /**
     * A parent relation: a row of this table belongs to the row of `table` whose id is in
     * `column` (itens_venda.venda_id → vendas). In one push, children whose parent is in the
     * same request are applied all-or-nothing with it.
     */
    parent: z.object({ column: identifier, table: identifier }).optional(),
    /**
     * Roles that may write this table through the API. Default: the admin always; devices
     * unless the table is download-only.
     */
    writeRoles: z.array(z.enum(writerRoles)).optional(),
  })
  .superRefine((t, ctx) => {
    const names = t.columns.map((c) => c.name);
    if (!names.includes('id'))
      ctx.addIssue({ code: 'custom', message: 'a table needs an `id` column' });
    if (new Set(names).size !== names.length)
      ctx.addIssue({ code: 'custom', message: 'column names must be unique' });
    for (const n of names)
      if (n.startsWith('_'))
        ctx.addIssue({
          code: 'custom',
          message: `column ${n}: names starting with _ are reserved`,
        });
    if (t.scope === 'store') {
      if (!t.storeColumn)
        ctx.addIssue({ code: 'custom', message: 'a store-scoped table needs storeColumn' });
      else if (!names.includes(t.storeColumn))
        ctx.addIssue({ code: 'custom', message: `storeColumn ${t.storeColumn} is not a column` });
    } else if (t.storeColumn) {
      ctx.addIssue({ code: 'custom', message: 'a global table has no storeColumn' });
    }
    if (t.parent && !names.includes(t.parent.column))
      ctx.addIssue({ code: 'custom', message: `parent column ${t.parent.column} is not a column` });
    if (t.kind === 'event' && t.columns.some((c) => c.counter))
      ctx.addIssue({
        code: 'custom',
        message: 'event tables are immutable and cannot have counters',
      });
  });
export type TableDef = z.infer<typeof tableSchema>;

export const syncSchemaSchema = z
  .object({
    version: z.number().int().positive(),
    tables: z.array(tableSchema).min(1),
  })
  .superRefine((s, ctx) => {
    const seen = new Set<string>();
    for (const t of s.tables)
      for (const n of [t.name, ...t.aliases]) {
        if (seen.has(n))
          ctx.addIssue({ code: 'custom', message: `table name or alias ${n} is declared twice` });
        seen.add(n);
      }
    for (const t of s.tables)
      if (t.parent && !s.tables.some((p) => p.name === t.parent?.table))
        ctx.addIssue({
          code: 'custom',
          message: `table ${t.name}: parent table ${t.parent.table} is not declared`,
        });
  });

/** Whether a token of `role` may write `table` (its `writeRoles`, or the default rights). */
export function mayWrite(role: WriterRole, table: TableDef): boolean {
  if (table.writeRoles) return table.writeRoles.includes(role);
  return role === 'admin' || table.direction !== 'down';
}
export type SyncSchema = z.infer<typeof syncSchemaSchema>;

/** `GET /api/schema` answers with the schema as loaded (defaults filled in). */
export const schemaResponseSchema = syncSchemaSchema;
export type SchemaResponse = SyncSchema;

/** Decimals a column keeps: its `scale`, or 2 for a decimal column without one. */
export function columnScale(column: { type: ColumnType; scale?: number | undefined }): number {
  return column.scale ?? 2;
}

/**
 * The schema as a client older than protocol 4 knows it: `decimal` columns declared `number`
 * (without `scale`), as they were before, so its parser and its local tables keep working; it
 * reads and sends those amounts as JSON numbers, which the server reads exactly.
 */
export function withDecimalsAsNumbers(schema: SyncSchema): SyncSchema {
  if (!schema.tables.some((t) => t.columns.some((c) => c.type === 'decimal'))) return schema;
  return {
    ...schema,
    tables: schema.tables.map((t) => ({
      ...t,
      columns: t.columns.map((c) => {
        if (c.type !== 'decimal') return c;
        const number: ColumnDef = { ...c, type: 'number' };
        delete number.scale;
        return number;
      }),
    })),
  };
}
