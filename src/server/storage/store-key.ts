import type { TableDef } from '../../protocol/index.js';

/**
 * The start refused (both engines): rows of a store-scoped table without a store cannot take
 * the (store column, id) key. Nothing is changed; the message says how to fix the rows.
 */
export function storeKeyNulls(table: TableDef, n: number): Error {
  const store = table.storeColumn ?? '';
  return new Error(
    `${table.name}: ${n} row(s) have no ${store}; rows of a store-scoped table are keyed by (${store}, id): ` +
      `set their store (UPDATE ${table.name} SET ${store} = … WHERE ${store} IS NULL) and start again; nothing was changed`,
  );
}
