import type { FastifyRequest } from 'fastify';
import { v7 as uuidv7 } from 'uuid';
import {
  decimalsAsNumbers,
  recordBodySchema,
  rowStoreQuerySchema,
  SyncError,
  validateRecord,
  type Mutation,
  type MutationResult,
  type TableDef,
} from '../../protocol/index.js';
import { resultsForWire } from '../http/decimal-wire.js';
import { parseRequest } from '../http/validate.js';
import type { ServerContext } from '../server-context.js';
import { readRowsById } from '../storage/row-reader.js';
import { decodeRow } from '../sync/index.js';

export type WriteMode = 'create' | 'put' | 'patch' | 'delete';

/** The `idempotency-key` header (1..128 characters), or a fresh key. */
export function eventIdOf(request: FastifyRequest, suffix = ''): string {
  const key = request.headers['idempotency-key'];
  const base = typeof key === 'string' && key.length > 0 && key.length <= 100 ? key : null;
  return base === null ? uuidv7() : `${base}${suffix}`;
}

/**
 * The store of the one row of `table` a request addresses (rows of a store-scoped table are
 * (store, id)): a store-bound token's own; for the admin `?storeId=`, else the store column of
 * `record` when given; undefined when the admin named none. Null for a global table.
 */
export function storeOfRequest(
  request: FastifyRequest,
  table: TableDef,
  record?: Record<string, unknown>,
): string | null | undefined {
  if (!table.storeColumn) return null;
  if (request.identity.role !== 'admin') return request.identity.storeId;
  const query = parseRequest(rowStoreQuerySchema, request.query ?? {}, 'query');
  if (query.storeId !== undefined) return query.storeId;
  const named = record?.[table.storeColumn];
  return named == null ? undefined : idText(named);
}

/** `storeOfRequest` for a write: the admin must name the store of a store-scoped row. */
export function requireStore(
  request: FastifyRequest,
  table: TableDef,
  record?: Record<string, unknown>,
): string | null {
  const store = storeOfRequest(request, table, record);
  if (store === undefined) throw storeRequired(table);
  return store;
}

function storeRequired(table: TableDef, stores?: number): SyncError {
  return new SyncError(
    'STORE_REQUIRED',
    `${table.name} is store-scoped: rows are identified by store and id; name the store with ?storeId=${
      stores ? ` (this id is used by ${stores} stores)` : ''
    }`,
    { details: { table: table.name, ...(stores ? { stores } : {}) } },
  );
}

/**
 * One row (raw, undecoded) within the caller's store, of the store the request names, or null.
 * The admin naming no store reads the row when one store alone uses the id, and is answered
 * 400 STORE_REQUIRED when several do.
 */
export async function readOneRow(
  ctx: ServerContext,
  request: FastifyRequest,
  table: TableDef,
  id: string,
  store: string | null | undefined = storeOfRequest(request, table),
): Promise<Record<string, unknown> | null> {
  const rows = await readRowsById(ctx.storage, table, [id], store ?? null);
  if (rows.length > 1) throw storeRequired(table, rows.length);
  return rows[0] ?? null;
}

/**
 * One row within the caller's store (null when out of reach or absent), as the seed-compatible
 * resources answer it: money as JSON numbers.
 */
export async function readRow(
  ctx: ServerContext,
  request: FastifyRequest,
  table: TableDef,
  id: string,
  store?: string | null,
): Promise<Record<string, unknown> | null> {
  const row = await readOneRow(ctx, request, table, id, store ?? storeOfRequest(request, table));
  return row ? decimalsAsNumbers(table, decodeRow(ctx.storage, table, row)) : null;
}

/**
 * Writes through the push path — the same scope, direction, conflict and idempotency rules
 * and the same live broadcast as a terminal's push — and turns a refusal into an error:
 * 422 with the rejection's code, 409 CONFLICT with the server's row.
 */
export async function pushWrites(
  ctx: ServerContext,
  request: FastifyRequest,
  mutations: Mutation[],
): Promise<MutationResult[]> {
  const applied = await ctx.push.push(request.identity, request.identity.machineId, mutations);
  ctx.activity.note(request.identity, 'push', applied.length);
  // Seed-compatible answers: a conflict's rows carry money as JSON numbers.
  const results = resultsForWire({ headers: {} }, (t) => ctx.names.resolve(t), applied);
  const rejected = results.find((r) => r.status === 'rejected');
  if (rejected)
    throw new SyncError(
      (rejected.reason?.code ?? 'RECORD_INVALID') as 'RECORD_INVALID',
      rejected.reason?.message ?? 'rejected',
      { details: { results } },
    );
  const conflict = results.find((r) => r.status === 'conflict');
  if (conflict)
    throw new SyncError(
      'CONFLICT',
      `row ${conflict.table}/${conflict.id} conflicts with the server's`,
      {
        details: { result: conflict, results },
      },
    );
  return results;
}

/** The record of a create/put/patch: the body with the path's id (a different body id is refused). */
export function recordFor(
  table: TableDef,
  request: FastifyRequest,
  mode: Exclude<WriteMode, 'delete'>,
  pathId: string | undefined,
): Record<string, unknown> {
  const body = parseRequest(recordBodySchema, request.body, 'body');
  if (pathId !== undefined && body['id'] !== undefined && idText(body['id']) !== pathId)
    throw new SyncError('VALIDATION_FAILED', 'body.id differs from the id in the path', {
      details: { issues: [{ path: 'body.id', message: 'differs from the id in the path' }] },
    });
  const raw =
    pathId ?? (body['id'] === undefined || body['id'] === null ? uuidv7() : idText(body['id']));
  const record: Record<string, unknown> = { ...body, id: typedId(table, raw) };
  // A device writes its own store's rows: the store column may be left out. The admin names
  // the row's store (?storeId= or the column); both given must agree.
  const storeColumn = table.storeColumn;
  if (storeColumn && record[storeColumn] === undefined) {
    const store = requireStore(request, table);
    if (store !== null) record[storeColumn] = store;
  } else if (storeColumn && request.identity.role === 'admin') {
    const query = parseRequest(rowStoreQuerySchema, request.query ?? {}, 'query');
    if (query.storeId !== undefined && idText(record[storeColumn]) !== query.storeId)
      throw new SyncError('VALIDATION_FAILED', `body.${storeColumn} differs from ?storeId=`, {
        details: { issues: [{ path: `body.${storeColumn}`, message: 'differs from ?storeId=' }] },
      });
  }
  if (mode !== 'patch') {
    const full = validateRecord(table, record, { partial: false });
    if (!full.ok) throw new SyncError('RECORD_INVALID', full.message);
  }
  return record;
}

/** An id as its column declares it: a number for an integer id (`"123"` → 123), else text. */
export function typedId(table: TableDef, id: string): string | number {
  const integer = table.columns.some((c) => c.name === 'id' && c.type === 'integer');
  return integer && /^-?\d{1,15}$/.test(id) ? Number(id) : id;
}

/** An id as text: a string as is, a number as its decimal text, anything else as JSON (refused later). */
export function idText(id: unknown): string {
  return typeof id === 'string' ? id : typeof id === 'number' ? String(id) : JSON.stringify(id);
}
