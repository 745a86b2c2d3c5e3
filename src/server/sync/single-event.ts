import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import canonicalize from 'canonicalize';
import { v7 as uuidv7 } from 'uuid';
import {
  singularsOf,
  SyncError,
  validateRecord,
  type Mutation,
  type MutationResult,
  type SyncEvent,
  type SyncEventResponse,
  type TableDef,
  type TableNames,
} from '../../protocol/index.js';
import type { Identity } from '../auth/index.js';
import { readRowsById } from '../storage/row-reader.js';
import type { Storage } from '../storage/index.js';
import type { StoreTimeZones } from '../store-time-zones.js';
import { decodeRow } from './row-codec.js';
import { storeText } from './push/decode.js';

/** A single event as mutations of the push path, one per row of its `data`. */
export type NormalizedEvent = {
  table: TableDef;
  action: 'created' | 'updated' | 'deleted';
  mutations: Mutation[];
  /** No `event_id` and no `timestamp`: nothing tells a retry from a new write. */
  keyless: boolean;
};

const actionPattern = /^(.+)_(created|updated|deleted)$/;

/** `product` → `productId`, `nota_fiscal` → `notaFiscalId`. */
function camelId(entity: string): string {
  return `${entity.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())}Id`;
}

function hash(parts: unknown[]): string {
  return createHash('sha256')
    .update(canonicalize(parts) ?? '')
    .digest('hex');
}

/**
 * Reads a single event the way front ends already in the field write it (see
 * `syncEventSchema`): the type's entity in any accepted form (name, alias, Portuguese or
 * English singular), `data` an object or a list, the row id from `data.id` or from
 * `<entity>Id` / `<entity>_id` beside it. Idempotency: `event_id` when sent (suffixed per
 * row of a list); else, with a `timestamp`, a key derived from store, machine, type,
 * timestamp and content, so a retry is a duplicate while a later write of the same values
 * (another timestamp) is a new event; else a fresh key (`keyless`: see `withoutNoOps`).
 */
export function normalizeSingleEvent(
  names: TableNames,
  identity: Identity,
  machineId: string,
  body: SyncEvent,
  maxRows: number,
): NormalizedEvent {
  const match = actionPattern.exec(body.type);
  const entities = names.entityNames();
  const entity = match?.[1];
  const table = entity ? entities.get(entity) : undefined;
  if (!match || !entity || !table)
    throw new SyncError('UNKNOWN_EVENT_TYPE', `unknown event type ${body.type}`, {
      details: {
        accepted: names
          .acceptedEntityNames()
          .flatMap((e) => ['created', 'updated', 'deleted'].map((a) => `${e}_${a}`)),
      },
    });
  const action = match[2] as NormalizedEvent['action'];
  const list = Array.isArray(body.data) ? body.data : [body.data];
  if (list.length > maxRows)
    throw new SyncError(
      'BATCH_TOO_LARGE',
      `data has ${list.length} rows; the limit is ${maxRows}`,
      { details: { limit: maxRows } },
    );
  const extra = body as Record<string, unknown>;
  const forms = new Set<string>();
  for (const name of [entity, table.name, ...table.aliases])
    for (const f of [name, ...singularsOf(name)]) forms.add(f);
  const sideId = [...[...forms].flatMap((f) => [camelId(f), `${f}_id`]), 'id']
    .map((k) => extra[k])
    .find((v) => v !== undefined && v !== null);
  const updatedAt =
    body.timestamp === undefined ? undefined : new Date(body.timestamp).toISOString();
  const keyless = body.event_id === undefined && body.timestamp === undefined;
  const mutations = list.map((data, i): Mutation => {
    const record: Record<string, unknown> = { ...data };
    // The id beside `data` names the row when there is one row (`{productId, data}`).
    if (record['id'] === undefined && list.length === 1 && sideId !== undefined)
      record['id'] = sideId;
    if (record['id'] === undefined && action === 'created') record['id'] = uuidv7();
    const id = record['id'];
    if (
      !(typeof id === 'string' && id.length >= 1 && id.length <= 128) &&
      !(typeof id === 'number' && Number.isSafeInteger(id))
    )
      throw new SyncError(
        'VALIDATION_FAILED',
        `data${Array.isArray(body.data) ? `.${i}` : ''}.id: the row id is missing or invalid (send data.id or ${camelId(entity)})`,
        {
          details: {
            issues: [
              { path: `data${Array.isArray(body.data) ? `.${i}` : ''}.id`, message: 'row id' },
            ],
          },
        },
      );
    record['id'] = String(id);
    const eventId =
      body.event_id !== undefined
        ? list.length === 1
          ? body.event_id
          : `${body.event_id.slice(0, 100)}:${i}:${hash([body.event_id]).slice(0, 16)}`
        : body.timestamp !== undefined
          ? `se:${hash([identity.storeId, machineId, body.type, body.timestamp, record])}`
          : uuidv7();
    return {
      eventId,
      table: table.name,
      op: action === 'deleted' ? 'delete' : 'upsert',
      record: record as Mutation['record'],
      ...(updatedAt ? { updatedAt } : {}),
    };
  });
  return { table, action, mutations, keyless };
}

/** An id or store value as text (a number as its JSON). */
function idOf(id: unknown): string {
  return typeof id === 'string' ? id : storeText(id);
}

/**
 * For keyless events: the upserts whose row already holds every value sent are left out,
 * so a retry writes nothing (no new version, no broadcast), while a change back to an
 * earlier value (price 10 → 12 → 10) still reaches the row. Deletes of rows already gone
 * are left to the push path, which answers them without a write.
 */
export async function withoutNoOps(
  storage: Storage,
  timeZones: StoreTimeZones,
  identity: Identity,
  event: NormalizedEvent,
): Promise<{ apply: Mutation[]; unchanged: Mutation[] }> {
  if (!event.keyless || event.action === 'deleted')
    return { apply: event.mutations, unchanged: [] };
  const ids = event.mutations.map((m) => String(m.record['id']));
  // A row of a store-scoped table is (store, id): the device's own store, or the store the
  // admin's record names (none named: never a no-op; the push path answers STORE_REQUIRED).
  const storeColumn = event.table.storeColumn;
  const keyOf = (store: unknown, id: unknown) =>
    storeColumn ? `${store == null ? '' : storeText(store)}\u0000${idOf(id)}` : idOf(id);
  const stored = new Map<string, Record<string, unknown>>();
  for (const row of await readRowsById(storage, event.table, ids, identity.storeId)) {
    const decoded = decodeRow(storage, event.table, row);
    stored.set(keyOf(storeColumn ? decoded[storeColumn] : null, row['id']), decoded);
  }
  const apply: Mutation[] = [];
  const unchanged: Mutation[] = [];
  for (const m of event.mutations) {
    const named = storeColumn ? (identity.storeId ?? m.record[storeColumn]) : '';
    const row = named == null ? undefined : stored.get(keyOf(named, m.record['id']));
    const values = validateRecord(event.table, m.record, {
      partial: true,
      timeZone: timeZones.ofRecord(event.table, m.record, identity.storeId),
    });
    const same =
      row !== undefined &&
      values.ok &&
      Object.entries(values.values).every(([c, v]) => isDeepStrictEqual(row[c], v));
    (same ? unchanged : apply).push(m);
  }
  return { apply, unchanged };
}

/** The answer to a single event from the results of its rows (the first row's for one row). */
export function singleEventAnswer(
  event: NormalizedEvent,
  results: MutationResult[],
  unchanged: Mutation[],
): { status: number; body: SyncEventResponse } {
  const byEvent = new Map(results.map((r) => [r.eventId, r]));
  const rows = event.mutations.map((m) => {
    const r = byEvent.get(m.eventId);
    const id = String(m.record['id']);
    if (!r) return { id, status: unchanged.includes(m) ? 'duplicate' : 'rejected' };
    return r.status === 'rejected'
      ? { id, status: r.status, code: r.reason?.code ?? 'INTERNAL', message: r.reason?.message }
      : { id, status: r.status };
  });
  const synced_at = new Date().toISOString();
  const rejected = rows.find((r) => r.status === 'rejected');
  const list = event.mutations.length > 1;
  const results_ = list
    ? rows.map(({ id, status, code }) => ({ id, status, ...(code ? { code } : {}) }))
    : undefined;
  // The admin naming no store for a store-scoped row: the request's fault, a catalogue error (400).
  if (rejected?.code === 'STORE_REQUIRED')
    throw new SyncError('STORE_REQUIRED', rejected.message ?? 'the row names no store');
  if (rejected)
    return {
      status: 422,
      body: {
        success: false,
        synced_at,
        status: 'rejected',
        ...(list ? { results: results_ } : {}),
        ...{ code: rejected.code, message: rejected.message },
      },
    };
  const first = rows[0];
  return {
    status: 200,
    body: {
      success: true,
      synced_at,
      status: rows.some((r) => r.status === 'applied') ? 'applied' : (first?.status ?? 'duplicate'),
      id: first?.id,
      ...(list ? { results: results_ } : {}),
    },
  };
}
