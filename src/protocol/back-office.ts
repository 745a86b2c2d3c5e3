import { z } from 'zod';
import { mutationStatuses } from './push.js';

/**
 * The back-office routes: reads of the sync tables (`/api/products`, `/api/orders`,
 * `/api/supplies`, `/api/tables/:table`), their CRUD writes and the pedidos screens'
 * `/api/v1/pedidos`. Rows travel as the tables hold them, so their columns are the
 * sync schema's (`GET /api/schema`), not fixed here.
 */

/** A row of a sync table, with the columns its table declares. */
export const rowSchema = z.record(z.string(), z.unknown());
export type Row = z.infer<typeof rowSchema>;

export const listQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
  offset: z.coerce.number().int().min(0).default(0),
});

/** `GET /api/orders`: days in the server's `--date-filter-offset`, `end_date` included. */
export const ordersQuerySchema = listQuerySchema.extend({
  start_date: z.iso.date().optional(),
  end_date: z.iso.date().optional(),
});

/** A table name or alias (`pedidos`, `orders`). */
export const tableParamsSchema = z.object({ table: z.string().min(1).max(64) });

/** A row id in a path. */
export const rowIdParamsSchema = z.object({ id: z.string().min(1).max(128) });

/**
 * The store of the one row a route addresses. Rows of a store-scoped table are identified by
 * (store, id): two stores may use the same id. A store-bound token always addresses its own
 * store's row; the admin names the store here (or in the record's store column): a write
 * without it, or a read whose id more than one store uses, is a 400 STORE_REQUIRED.
 * Ignored for global tables.
 */
export const rowStoreQuerySchema = z.object({
  storeId: z
    .string()
    .min(1)
    .max(128)
    .optional()
    .describe(
      "The row's store, for a store-scoped table (rows are identified by store and id). Required of the admin for writes, and for reads when the id is used by several stores; a store's own token implies it.",
    ),
});

/** The body of a write: the row's columns (checked against its table). */
export const recordBodySchema = z.record(z.string(), z.unknown());

/** `GET /api/products`-like answers: the rows under the resource's plural, and how many match. */
export function rowListResponseSchema(key: string) {
  return z.object({ [key]: z.array(rowSchema), total: z.number().int() });
}

export const tableRowsResponseSchema = z.object({
  table: z.string(),
  rows: z.array(rowSchema),
  total: z.number().int(),
});

export const tableRowResponseSchema = z.object({ table: z.string(), row: rowSchema });

/** `POST`, `PUT`, `PATCH` of a CRUD resource: the row as stored, under the resource's name. */
export function crudWriteResponseSchema(key: string) {
  return z.object({
    success: z.literal(true),
    [key]: rowSchema.nullable(),
    status: z.enum(mutationStatuses).optional(),
    version: z.number().int().optional(),
  });
}

export const crudDeleteResponseSchema = z.object({
  success: z.literal(true),
  id: z.string(),
  status: z.enum(mutationStatuses),
});

/** `/api/v1/pedidos`: a pedido id is a JSON number when the table declares its `id` integer. */
export const pedidoIdSchema = z.union([z.string(), z.number().int()]);

export const pedidoDeleteResponseSchema = z.object({
  success: z.literal(true),
  id: pedidoIdSchema,
});

/**
 * The optional `idempotency-key` header of the writes: a retry with the same key is answered
 * `duplicate`, not applied twice. Longer keys are ignored (the write gets a fresh key).
 */
export function idempotencyHeadersSchema(maxLength: number) {
  return z.object({ 'idempotency-key': z.string().min(1).max(maxLength).optional() });
}
