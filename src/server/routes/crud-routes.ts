import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  rowIdParamsSchema,
  SyncError,
  type Mutation,
  type TableDef,
} from '../../protocol/index.js';
import { parseRequest } from '../http/validate.js';
import type { ServerContext } from '../server-context.js';
import {
  eventIdOf,
  idText,
  pushWrites,
  readRow,
  recordFor,
  requireStore,
  type WriteMode,
} from './resource-write.js';

/** One resource of the back-office CRUD: its path, table, answer key and child lines. */
type Resource = {
  path: string;
  table: string;
  key: string;
  /** Lines sent inside the record (`items`), stored as rows of `table` with `parent` = the id. */
  children?: { field: string; aliases: string[]; table: string; parent: string };
};

export const crudResources: Resource[] = [
  { path: '/api/products', table: 'produtos', key: 'product' },
  {
    path: '/api/orders',
    table: 'pedidos',
    key: 'order',
    children: { field: 'items', aliases: ['itens'], table: 'itens_pedido', parent: 'pedido_id' },
  },
  { path: '/api/supplies', table: 'estoque', key: 'supply' },
];

const itemsSchema = z.array(z.record(z.string(), z.unknown())).max(1000);

/**
 * Create, replace, change and delete products, orders (with their items) and supplies, as
 * back-office front ends do (`POST /api/products` → every other app hears of it). Device
 * tokens and the admin; every write goes through the push path: the token's store and
 * table directions, conflict policies, idempotency when `idempotency-key` is sent, the
 * change log and the live broadcast. The reads (`GET`) are in table-routes.ts.
 */
export function crudRoutes(app: FastifyInstance, ctx: ServerContext): void {
  for (const resource of crudResources) {
    const table = ctx.names.resolve(resource.table);
    if (!table) continue;
    const childTable = resource.children ? ctx.names.resolve(resource.children.table) : undefined;
    const handle =
      (mode: WriteMode) =>
      async (request: FastifyRequest, reply: FastifyReply): Promise<Record<string, unknown>> => {
        const pathId =
          mode === 'create'
            ? undefined
            : parseRequest(rowIdParamsSchema, request.params, 'params').id;
        if (mode === 'delete') {
          const id = pathId as string;
          // The row is (store, id) in a store-scoped table: the admin names its store.
          const store = requireStore(request, table);
          if (!(await readRow(ctx, request, table, id)))
            throw new SyncError('NOT_FOUND', `no ${resource.key} ${id}`);
          const record =
            store !== null && table.storeColumn ? { id, [table.storeColumn]: store } : { id };
          const [result] = await pushWrites(ctx, request, [
            { eventId: eventIdOf(request), table: table.name, op: 'delete', record },
          ]);
          return { success: true, id, status: result?.status ?? 'applied' };
        }
        const { record, items } = splitChildren(resource, request);
        const full = recordFor(table, { ...request, body: record }, mode, pathId);
        const id = String(full['id']);
        const store = table.storeColumn ? idText(full[table.storeColumn]) : null;
        if (mode === 'patch' && !(await readRow(ctx, request, table, pathId as string, store)))
          throw new SyncError('NOT_FOUND', `no ${resource.key} ${pathId}`);
        const mutations: Mutation[] = [
          {
            eventId: eventIdOf(request),
            table: table.name,
            op: 'upsert',
            record: full as Mutation['record'],
          },
          ...childMutations(resource, childTable, request, id, items, store),
        ];
        const results = await pushWrites(ctx, request, mutations);
        if (mode === 'create') void reply.status(results[0]?.status === 'applied' ? 201 : 200);
        return {
          success: true,
          [resource.key]: await readRow(ctx, request, table, id, store),
          status: results[0]?.status,
          version: results[0]?.version,
        };
      };
    app.post(resource.path, handle('create'));
    app.put(`${resource.path}/:id`, handle('put'));
    app.patch(`${resource.path}/:id`, handle('patch'));
    app.delete(`${resource.path}/:id`, handle('delete'));
  }
}

function splitChildren(
  resource: Resource,
  request: FastifyRequest,
): { record: unknown; items: Record<string, unknown>[] | null } {
  const body = request.body;
  if (!resource.children || body === null || typeof body !== 'object' || Array.isArray(body))
    return { record: body, items: null };
  const copy = { ...(body as Record<string, unknown>) };
  let items: Record<string, unknown>[] | null = null;
  for (const field of [resource.children.field, ...resource.children.aliases])
    if (field in copy) {
      items = parseRequest(itemsSchema, copy[field], `body.${field}`);
      delete copy[field];
    }
  return { record: copy, items };
}

/** An order's items as rows of its lines table: id given, or `<order id>:<n>`; in the order's store. */
function childMutations(
  resource: Resource,
  childTable: TableDef | undefined,
  request: FastifyRequest,
  parentId: string,
  items: Record<string, unknown>[] | null,
  store: string | null,
): Mutation[] {
  if (!items || !resource.children) return [];
  if (!childTable)
    throw new SyncError(
      'UNKNOWN_TABLE',
      `table ${resource.children.table} is not in the sync schema`,
    );
  const parent = resource.children.parent;
  return items.map((item, i) => ({
    eventId: eventIdOf(request, `:${i + 1}`),
    table: childTable.name,
    op: 'upsert',
    record: {
      ...(childTable.storeColumn && request.identity.role !== 'admin'
        ? { [childTable.storeColumn]: request.identity.storeId }
        : childTable.storeColumn && store !== null
          ? { [childTable.storeColumn]: store }
          : {}),
      ...item,
      id:
        item['id'] === undefined || item['id'] === null
          ? `${parentId}:${i + 1}`
          : idText(item['id']),
      [parent]: parentId,
    },
  }));
}
