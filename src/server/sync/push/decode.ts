import {
  isCanonicalUtc,
  mayWrite,
  maxCounterMagnitude,
  parseMutation,
  validateRecord,
  type ErrorCode,
  type Mutation,
  type RejectedResult,
  type TableNames,
} from '../../../protocol/index.js';
import type { Identity } from '../../auth/index.js';
import type { StoreTimeZones } from '../../store-time-zones.js';
import type { Prepared } from './context.js';
import { rejected } from './results.js';

export type DecodeOptions = {
  names: TableNames;
  /** How far ahead of the server clock a client timestamp may be before it is clamped. */
  maxClockSkewMs: number;
  /** The zones naive timestamps are read in: the record's store's, a global row's the server's. */
  timeZones: StoreTimeZones;
  /** The server clock (epoch ms) the batch is judged against. */
  now: number;
};

/** A mutation refused before any database work, with what is known of it for grouping. */
export type Refused = RejectedResult & { index: number; raw: Mutation | null };

/**
 * Checks one mutation alone, with no database: its own fields (eventId, op, table,
 * updatedAt, baseVersion, deltas, group), then table, write rights, record shape
 * and values (the coercion rule), store scope and counter columns; clamps client
 * times. Pure: the same input gives the same answer, so it is property-tested on its own.
 */
export function decodeMutation(
  identity: Identity,
  raw: unknown,
  index: number,
  options: DecodeOptions,
): Prepared | Refused {
  const parsed = parseMutation(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.map(String).join('.') ?? '';
    const code: ErrorCode = issue?.path[0] === 'record' ? 'RECORD_INVALID' : 'MUTATION_INVALID';
    return refuse(
      echo(raw),
      index,
      code,
      `${path || 'mutation'}: ${issue?.message ?? 'invalid'}`,
      null,
    );
  }
  const m = parsed.data;
  const no = (code: ErrorCode, message: string) => refuse(m, index, code, message, m);
  const table = options.names.resolve(m.table);
  if (!table) return no('UNKNOWN_TABLE', `table ${m.table} is not in the sync schema`);
  if (!mayWrite(identity.role, table))
    return identity.role === 'device' && table.direction === 'down' && !table.writeRoles
      ? no('DIRECTION_FORBIDDEN', `table ${table.name} is download-only`)
      : no('WRITE_FORBIDDEN', `the ${identity.role} role may not write table ${table.name}`);
  if (table.kind === 'event' && m.op === 'delete')
    return no('EVENT_IMMUTABLE', `table ${table.name} is insert-only; rows cannot be deleted`);
  // A terminal's row without a store (the POS app never set it) is its own store's row.
  const record =
    table.storeColumn &&
    identity.role !== 'admin' &&
    m.op === 'upsert' &&
    m.record[table.storeColumn] == null
      ? { ...m.record, [table.storeColumn]: identity.storeId }
      : m.record;
  const timeZone = options.timeZones.ofRecord(table, record, identity.storeId);
  const checked = validateRecord(table, record, { partial: true, timeZone });
  if (!checked.ok) return no('RECORD_INVALID', checked.message);
  const values = m.op === 'delete' ? { id: checked.id } : checked.values;
  // A row's own updated_at is a client clock too: bound it like the mutation's (PITFALLS #9).
  const recordTime = typeof values['updated_at'] === 'string' ? values['updated_at'] : undefined;
  if (recordTime) values['updated_at'] = clampClientTime(recordTime, options);
  if (table.storeColumn && identity.role !== 'admin' && m.op === 'upsert') {
    const store = values[table.storeColumn];
    if (store === undefined) values[table.storeColumn] = identity.storeId;
    else if (store !== identity.storeId)
      return no('SCOPE_VIOLATION', `${table.storeColumn} names another store than this device's`);
  }
  // A row of a store-scoped table is (store, id): a device's is in its own store, an admin's
  // in the store its record names (a delete's too).
  let store: string | null = null;
  if (table.storeColumn) {
    const named =
      m.op === 'delete' ? (checked.values[table.storeColumn] ?? null) : values[table.storeColumn];
    store = identity.role !== 'admin' ? identity.storeId : named == null ? null : storeText(named);
    if (store === null)
      return no(
        'STORE_REQUIRED',
        `${table.name} is store-scoped: name the row's store in ${table.storeColumn} (rows are identified by store and id)`,
      );
  }
  if (m.deltas)
    for (const [col, delta] of Object.entries(m.deltas)) {
      if (!table.columns.some((c) => c.name === col && c.counter))
        return no('RECORD_INVALID', `deltas.${col}: not a counter column of ${table.name}`);
      // Past ±1e15 a counter loses integer precision, and past ±1.8e308 SQLite stores NULL.
      if (!(Math.abs(delta) <= maxCounterMagnitude))
        return no(
          'RECORD_INVALID',
          `deltas.${col}: out of range (at most ${maxCounterMagnitude} in magnitude)`,
        );
    }
  // Event rows are only ever inserted: check them whole now, before any write.
  if (table.kind === 'event')
    for (const c of table.columns)
      if (c.required && values[c.name] == null)
        return no('RECORD_INVALID', `column ${c.name} is required`);
  return {
    index,
    mutation: m,
    table,
    id: checked.id,
    store,
    values,
    clientTime: clampClientTime(m.updatedAt ?? recordTime, options),
  };
}

/** A store column's value as the text the change log keys rows by. */
export function storeText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * The last time clamped and its answer: a batch's mutations mostly carry the same
 * `updatedAt` (the till stamps its outbox flush), so each distinct time is read once.
 */
let lastClamp = { time: '', limit: Number.NaN, answer: '' };

function clampClientTime(time: string | undefined, options: DecodeOptions): string | null {
  if (!time) return null;
  const limit = options.now + options.maxClockSkewMs;
  if (time === lastClamp.time && limit === lastClamp.limit) return lastClamp.answer;
  // Already canonical and not ahead of the limit: the answer is the time itself.
  if (isCanonicalUtc(time) && Date.parse(time) <= limit) return time;
  const answer = new Date(Math.min(new Date(time).getTime(), limit)).toISOString();
  lastClamp = { time, limit, answer };
  return answer;
}

function refuse(
  m: { eventId: string; table: string; record?: unknown },
  index: number,
  code: ErrorCode,
  message: string,
  raw: Mutation | null,
): Refused {
  return { ...rejected(m, code, message), index, raw };
}

/** What a malformed mutation's answer can echo: its eventId and table when they are strings. */
function echo(raw: unknown): { eventId: string; table: string; record?: unknown } {
  const o = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  return {
    eventId: typeof o['eventId'] === 'string' ? o['eventId'] : '',
    table: typeof o['table'] === 'string' ? o['table'] : '',
    record: o['record'],
  };
}
