import {
  validateRecord,
  type Mutation,
  type RejectedResult,
  type TableNames,
} from '../../../protocol/index.js';
import type { Identity } from '../../auth/index.js';
import type { Prepared } from './context.js';
import { rejected } from './results.js';

export type DecodeOptions = {
  names: TableNames;
  /** How far ahead of the server clock a client timestamp may be before it is clamped. */
  maxClockSkewMs: number;
  /** The server clock (epoch ms) the batch is judged against. */
  now: number;
};

/**
 * Checks one mutation with no database: table, direction, op, record shape,
 * store scope, counter columns; clamps client times. Pure: the same input gives
 * the same answer, so it is property-tested on its own.
 */
export function decodeMutation(
  identity: Identity,
  m: Mutation,
  index: number,
  options: DecodeOptions,
): Prepared | RejectedResult {
  const table = options.names.resolve(m.table);
  if (!table) return rejected(m, 'UNKNOWN_TABLE', `table ${m.table} is not in the sync schema`);
  if (identity.role === 'device' && table.direction === 'down')
    return rejected(m, 'DIRECTION_FORBIDDEN', `table ${table.name} is download-only`);
  if (table.kind === 'event' && m.op === 'delete')
    return rejected(
      m,
      'EVENT_IMMUTABLE',
      `table ${table.name} is insert-only; rows cannot be deleted`,
    );
  // A terminal's row without a store (the POS app never set it) is its own store's row.
  const record =
    table.storeColumn &&
    identity.role === 'device' &&
    m.op === 'upsert' &&
    m.record[table.storeColumn] == null
      ? { ...m.record, [table.storeColumn]: identity.storeId }
      : m.record;
  const checked = validateRecord(table, record, { partial: true });
  if (!checked.ok) return rejected(m, 'RECORD_INVALID', checked.message);
  const values = m.op === 'delete' ? { id: checked.id } : checked.values;
  // A row's own updated_at is a client clock too: bound it like the mutation's (PITFALLS #9).
  const recordTime = typeof values['updated_at'] === 'string' ? values['updated_at'] : undefined;
  if (recordTime) values['updated_at'] = clampClientTime(recordTime, options);
  if (table.storeColumn && identity.role === 'device' && m.op === 'upsert') {
    const store = values[table.storeColumn];
    if (store === undefined) values[table.storeColumn] = identity.storeId;
    else if (store !== identity.storeId)
      return rejected(
        m,
        'SCOPE_VIOLATION',
        `${table.storeColumn} names another store than this device's`,
      );
  }
  if (m.deltas)
    for (const col of Object.keys(m.deltas))
      if (!table.columns.some((c) => c.name === col && c.counter))
        return rejected(
          m,
          'RECORD_INVALID',
          `deltas.${col}: not a counter column of ${table.name}`,
        );
  // Event rows are only ever inserted: check them whole now, before any write.
  if (table.kind === 'event')
    for (const c of table.columns)
      if (c.required && values[c.name] == null)
        return rejected(m, 'RECORD_INVALID', `column ${c.name} is required`);
  return {
    index,
    mutation: m,
    table,
    id: checked.id,
    values,
    clientTime: clampClientTime(m.updatedAt ?? recordTime, options),
  };
}

function clampClientTime(time: string | undefined, options: DecodeOptions): string | null {
  if (!time) return null;
  const limit = options.now + options.maxClockSkewMs;
  return new Date(Math.min(new Date(time).getTime(), limit)).toISOString();
}
