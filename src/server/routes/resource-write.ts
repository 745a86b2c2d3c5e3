import type { FastifyRequest } from 'fastify';
import { v7 as uuidv7 } from 'uuid';
import {
  decimalsAsNumbers,
  recordBodySchema,
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
 * One row within the caller's store (null when out of reach or absent), as the seed-compatible
 * resources answer it: money as JSON numbers.
 */
export async function readRow(
  ctx: ServerContext,
  request: FastifyRequest,
  table: TableDef,
  id: string,
): Promise<Record<string, unknown> | null> {
  const storeId = request.identity.role !== 'admin' ? request.identity.storeId : null;
  const [row] = await readRowsById(ctx.storage, table, [id], storeId);
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
  // A device writes its own store's rows: the store column may be left out.
  const storeColumn = table.storeColumn;
  if (storeColumn && request.identity.role !== 'admin' && record[storeColumn] === undefined)
    record[storeColumn] = request.identity.storeId;
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
