import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { v7 as uuidv7 } from 'uuid';
import {
  decimalsAsNumbers,
  listQuerySchema,
  ordersQuerySchema,
  recordBodySchema,
  SyncError,
  tableWriteParamsSchema,
  validateRecord,
  type TableDef,
} from '../../protocol/index.js';
import type { Identity } from '../auth/index.js';
import { resultsForWire, rowsForWire, wantsDecimalText } from '../http/decimal-wire.js';
import { parseRequest } from '../http/validate.js';
import type { ServerContext } from '../server-context.js';
import { quoteIdent as q } from '../storage/quote.js';
import { decodeRow } from '../sync/index.js';
import { idText, readOneRow, requireStore } from './resource-write.js';

function tableOf(ctx: ServerContext, name: string): TableDef {
  const table = ctx.names.resolve(name);
  if (!table) throw new SyncError('UNKNOWN_TABLE', `table ${name} is not in the sync schema`);
  return table;
}

/**
 * Rows per slice of a list answer: a few milliseconds of reading and encoding between two
 * turns of the event loop, so a 10,000-row list delays another store's request by one
 * slice, not by the whole list.
 */
const sliceRows = 250;

/**
 * Reads rows of one table, scoped to the caller's store, as the JSON text of an array
 * (each row through `toWire`), plus the count of every row the filter matches.
 */
async function listRows(
  ctx: ServerContext,
  identity: Identity,
  table: TableDef,
  options: { limit: number; offset: number; where?: string[]; params?: unknown[] },
  toWire: (row: Record<string, unknown>) => Record<string, unknown>,
): Promise<{ json: string; total: number }> {
  const where = [...(options.where ?? [])];
  const params = [...(options.params ?? [])];
  if (identity.role !== 'admin' && table.storeColumn) {
    where.push(`${q(table.storeColumn)} = ?`);
    params.push(identity.storeId);
  }
  const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
  return ctx.storage.bulkRead(async (tx) => {
    const count = await tx.all<{ n: number }>(
      `SELECT COUNT(*) AS n FROM ${q(table.name)} ${clause}`,
      params,
    );
    const parts: string[] = [];
    await tx.scan(
      `SELECT * FROM ${q(table.name)} ${clause} ORDER BY id LIMIT ? OFFSET ?`,
      [...params, options.limit, options.offset],
      sliceRows,
      (rows) => {
        for (const r of rows) parts.push(JSON.stringify(toWire(decodeRow(ctx.storage, table, r))));
      },
    );
    return { json: `[${parts.join(',')}]`, total: Number(count[0]?.n ?? 0) };
  });
}

/** A list answer `{ [key]: rows, total }` as JSON text (the rows are JSON text already). */
function listAnswer(
  reply: FastifyReply,
  head: Record<string, unknown>,
  key: string,
  list: { json: string; total: number },
): string {
  const fields = Object.entries(head).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)},`);
  void reply.type('application/json; charset=utf-8');
  return `{${fields.join('')}${JSON.stringify(key)}:${list.json},"total":${list.total}}`;
}

/** Back-office reads (seed 003's products, orders, supplies) and admin writes through the change log. */
export function tableRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const resource = (path: string, tableName: string, key: string) =>
    app.get(path, async (request, reply) => {
      const query = parseRequest(listQuerySchema, request.query, 'query');
      const table = tableOf(ctx, tableName);
      // Seed-compatible: money as JSON numbers, whatever the client declares.
      const list = await listRows(ctx, request.identity, table, query, (r) =>
        decimalsAsNumbers(table, r),
      );
      return listAnswer(reply, {}, key, list);
    });
  resource('/api/products', 'produtos', 'products');
  resource('/api/supplies', 'estoque', 'supplies');

  app.get('/api/orders', async (request, reply) => {
    const query = parseRequest(ordersQuerySchema, request.query, 'query');
    const table = tableOf(ctx, 'pedidos');
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.start_date || query.end_date) {
      // A day is each store's local day (docs/coercion.md, "Time zones").
      const ranges = ctx.timeZones.dayRanges(
        query.start_date,
        query.end_date,
        request.identity.storeId,
        table.storeColumn !== null,
      );
      const clauses = ranges.map((r) => {
        const parts: string[] = [];
        const store = table.storeColumn ? q(table.storeColumn) : '';
        const list = (ids: string[]) => ids.map(() => '?').join(', ');
        if (r.stores) parts.push(`${store} IN (${list(r.stores)})`);
        if (r.except.length > 0) parts.push(`${store} NOT IN (${list(r.except)})`);
        params.push(...(r.stores ?? []), ...r.except);
        if (r.from) {
          parts.push(`${q('created_at')} >= ?`);
          params.push(encodeTime(ctx, r.from));
        }
        if (r.to) {
          parts.push(`${q('created_at')} < ?`);
          params.push(encodeTime(ctx, r.to));
        }
        return parts.length > 0 ? `(${parts.join(' AND ')})` : '1 = 1';
      });
      where.push(`(${clauses.join(' OR ')})`);
    }
    const list = await listRows(ctx, request.identity, table, { ...query, where, params }, (r) =>
      decimalsAsNumbers(table, r),
    );
    return listAnswer(reply, {}, 'orders', list);
  });

  app.get<{ Params: { table: string } }>('/api/tables/:table', async (request, reply) => {
    const query = parseRequest(listQuerySchema, request.query, 'query');
    const table = tableOf(ctx, request.params.table);
    if (request.identity.role !== 'admin' && table.direction === 'up')
      throw new SyncError(
        'FORBIDDEN',
        `table ${table.name} is upload-only; terminals do not read it back`,
      );
    const asText = wantsDecimalText(request);
    const list = await listRows(ctx, request.identity, table, query, (r) =>
      asText ? r : decimalsAsNumbers(table, r),
    );
    return listAnswer(reply, { table: table.name }, 'rows', list);
  });

  // One row (seed 004's fetchPedidoById), with the same scope as the list.
  app.get('/api/tables/:table/:id', async (request) => {
    const params = parseRequest(tableWriteParamsSchema, request.params, 'params');
    const table = tableOf(ctx, params.table);
    if (request.identity.role !== 'admin' && table.direction === 'up')
      throw new SyncError(
        'FORBIDDEN',
        `table ${table.name} is upload-only; terminals do not read it back`,
      );
    // A row of a store-scoped table is (store, id): `?storeId=` names the store (a store's own
    // token implies it); the admin naming none is answered 400 when several stores use the id.
    const raw = await readOneRow(ctx, request, table, params.id);
    const row = raw && decodeRow(ctx.storage, table, raw);
    if (!row)
      throw new SyncError('NOT_FOUND', `no row ${params.id} in ${table.name}`, {
        details: { table: table.name, id: params.id },
      });
    return { table: table.name, row: rowsForWire(request, table, [row])[0] };
  });

  const write = async (
    request: FastifyRequest,
    reply: FastifyReply,
    mode: 'put' | 'patch' | 'delete',
  ) => {
    const params = parseRequest(tableWriteParamsSchema, request.params, 'params');
    const table = tableOf(ctx, params.table);
    let record: Record<string, unknown> = { id: params.id };
    const body = mode === 'delete' ? {} : parseRequest(recordBodySchema, request.body, 'body');
    if (body['id'] !== undefined && body['id'] !== params.id && body['id'] !== Number(params.id))
      throw new SyncError('VALIDATION_FAILED', 'body.id differs from the id in the path', {
        details: { bodyId: body['id'], pathId: params.id },
      });
    // The row's store, in a store-scoped table: `?storeId=` or the body's store column.
    const store = requireStore(request, table, body);
    if (table.storeColumn && store !== null) {
      const named = body[table.storeColumn];
      if (named != null && idText(named) !== store)
        throw new SyncError(
          'VALIDATION_FAILED',
          `body.${table.storeColumn} differs from ?storeId=`,
        );
      // The body's own value stays as sent (validated like any column).
      record[table.storeColumn] = named ?? store;
    }
    if (mode !== 'delete') {
      record = { ...body, ...record, id: params.id };
      if (mode === 'put') {
        const full = validateRecord(table, record, { partial: false });
        if (!full.ok) throw new SyncError('RECORD_INVALID', full.message);
      }
    }
    const key = request.headers['idempotency-key'];
    const eventId = typeof key === 'string' && key.length > 0 && key.length <= 128 ? key : uuidv7();
    const pushed = await ctx.push.push(request.identity, 'admin', [
      {
        eventId,
        table: table.name,
        op: mode === 'delete' ? 'delete' : 'upsert',
        record: { ...record, id: params.id },
      },
    ]);
    const [result] = resultsForWire(request, (t) => ctx.names.resolve(t), pushed);
    if (!result) throw new SyncError('INTERNAL', 'no result');
    if (result.status === 'rejected') {
      const code = (result.reason?.code ?? 'RECORD_INVALID') as 'RECORD_INVALID';
      throw new SyncError(code, result.reason?.message ?? 'rejected');
    }
    if (result.status === 'conflict')
      throw new SyncError(
        'CONFLICT',
        `row ${table.name}/${params.id} conflicts with the server's`,
        {
          details: { result },
        },
      );
    void reply.status(200);
    return result;
  };
  const adminOnly = { config: { admin: true } };
  app.put('/api/tables/:table/:id', adminOnly, (request, reply) => write(request, reply, 'put'));
  app.patch('/api/tables/:table/:id', adminOnly, (request, reply) =>
    write(request, reply, 'patch'),
  );
  app.delete('/api/tables/:table/:id', adminOnly, (request, reply) =>
    write(request, reply, 'delete'),
  );
}

function encodeTime(ctx: ServerContext, date: Date): unknown {
  return ctx.storage.encode('timestamp', date.toISOString());
}
