import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  decimalsAsNumbers,
  listQuerySchema,
  rowIdParamsSchema,
  SyncError,
  type Mutation,
  type TableDef,
} from '../../protocol/index.js';
import { parseRequest } from '../http/validate.js';
import type { ServerContext } from '../server-context.js';
import { quoteIdent as q } from '../storage/quote.js';
import type { Row } from '../storage/index.js';
import { decodeRow } from '../sync/index.js';
import {
  eventIdOf,
  idText,
  pushWrites,
  readRow,
  recordFor,
  requireStore,
} from './resource-write.js';

/**
 * A row as the screens read it: an integer id (as the schema declares it) is a JSON number, and
 * so is money (decimal columns, exact up to 15 digits).
 */
function wire(table: TableDef, money: Record<string, unknown>): Record<string, unknown> {
  const row = decimalsAsNumbers(table, money);
  const integer = table.columns.some((c) => c.name === 'id' && c.type === 'integer');
  const id = row['id'];
  return integer && typeof id === 'string' && /^-?\d{1,15}$/.test(id)
    ? { ...row, id: Number(id) }
    : row;
}

/**
 * The pedidos screens' REST routes: `GET/POST /api/v1/pedidos`, `GET/PATCH/DELETE
 * /api/v1/pedidos/{id}`. Device tokens (their own store's pedidos) and the admin; writes go
 * through the push path, so a PATCH reaches every screen on `/ws/pedidos` before its answer.
 */
export function pedidosV1Routes(app: FastifyInstance, ctx: ServerContext): void {
  const table = ctx.names.resolve('pedidos');
  if (!table) return;
  const path = '/api/v1/pedidos';

  app.get(path, async (request) => {
    const query = parseRequest(listQuerySchema, request.query, 'query');
    const scoped = request.identity.role !== 'admin' && table.storeColumn;
    const rows = await ctx.storage.read((tx) =>
      tx.all<Row>(
        `SELECT * FROM ${q(table.name)} ${scoped ? `WHERE ${q(table.storeColumn as string)} = ?` : ''}
         ORDER BY id LIMIT ? OFFSET ?`,
        scoped
          ? [request.identity.storeId, query.limit, query.offset]
          : [query.limit, query.offset],
      ),
    );
    return rows.map((r) => wire(table, decodeRow(ctx.storage, table, r)));
  });

  // A pedido is (store, id): the admin names its store (`?storeId=`, or the record's column).
  const one = async (request: FastifyRequest, id: string, store?: string | null) => {
    const row = await readRow(ctx, request, table, id, store);
    if (!row) throw new SyncError('NOT_FOUND', `no pedido ${id}`, { details: { id } });
    return row;
  };

  app.get(`${path}/:id`, async (request) => {
    const { id } = parseRequest(rowIdParamsSchema, request.params, 'params');
    return wire(table, await one(request, id));
  });

  const write =
    (mode: 'create' | 'patch') =>
    async (request: FastifyRequest, reply: FastifyReply): Promise<Record<string, unknown>> => {
      const pathId =
        mode === 'create'
          ? undefined
          : parseRequest(rowIdParamsSchema, request.params, 'params').id;
      const record = recordFor(table, request, mode, pathId);
      const store = table.storeColumn ? idText(record[table.storeColumn]) : null;
      if (pathId !== undefined) await one(request, pathId, store);
      const [result] = await pushWrites(ctx, request, [
        {
          eventId: eventIdOf(request),
          table: table.name,
          op: 'upsert',
          record: record as Mutation['record'],
        },
      ]);
      if (mode === 'create') void reply.status(result?.status === 'applied' ? 201 : 200);
      return wire(table, await one(request, String(record['id']), store));
    };
  app.post(path, write('create'));
  app.patch(`${path}/:id`, write('patch'));

  app.delete(`${path}/:id`, async (request) => {
    const { id } = parseRequest(rowIdParamsSchema, request.params, 'params');
    const store = requireStore(request, table);
    await one(request, id, store);
    const record =
      table.storeColumn && store !== null ? { id, [table.storeColumn]: store } : { id };
    await pushWrites(ctx, request, [
      { eventId: eventIdOf(request), table: table.name, op: 'delete', record },
    ]);
    return { success: true, id: wire(table, { id })['id'] };
  });
}
