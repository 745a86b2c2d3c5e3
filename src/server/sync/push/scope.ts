import type { TableDef } from '../../../protocol/index.js';
import type { Identity } from '../../auth/index.js';
import type { Existing } from './context.js';
import { Rejection } from './results.js';

/**
 * Whether `existing` is another store's row, which a device must not see: for that
 * device the id is unknown, and every answer must read as it would for an unknown id
 * (no existence oracle), except where a new row with this id cannot be stored.
 */
export function isForeign(identity: Identity, table: TableDef, existing: Existing): boolean {
  return (
    identity.role !== 'admin' &&
    table.storeColumn !== null &&
    existing.row[table.storeColumn] !== identity.storeId
  );
}

/**
 * A full new row whose id another store's row already holds: rows are keyed by id alone
 * (per table), so it cannot be stored. The answer names neither the store nor the row.
 */
export function idTaken(id: string): Rejection {
  return new Rejection(
    'SCOPE_VIOLATION',
    `id ${id} cannot be used by this store; give rows ids unique across stores (UUIDv7)`,
  );
}
