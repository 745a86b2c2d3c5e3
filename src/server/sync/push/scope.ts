import type { TableDef } from '../../../protocol/index.js';
import type { Identity } from '../../auth/index.js';
import type { Existing } from './context.js';
import { Rejection } from './results.js';

/** A device writes only its own store's rows of a store-scoped table. */
export function checkOwner(identity: Identity, table: TableDef, existing: Existing): void {
  if (
    identity.role === 'device' &&
    table.storeColumn &&
    existing.row[table.storeColumn] !== identity.storeId
  )
    throw new Rejection(
      'SCOPE_VIOLATION',
      `id ${String(existing.row['id'])} belongs to another store's row`,
    );
}
