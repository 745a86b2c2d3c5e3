import { readFileSync } from 'node:fs';
import { LocalStore } from '../client/local-store.js';
import { syncSchemaSchema } from '../protocol/index.js';

/** The POS schema the project ships (config/pos-schema.json). */
export const posSchema = syncSchemaSchema.parse(
  JSON.parse(readFileSync(new URL('../../config/pos-schema.json', import.meta.url), 'utf8')),
);

/** A till's local database in memory, with the POS schema applied, selling for store `1`. */
export function memoryTill(): LocalStore {
  const s = new LocalStore(':memory:');
  s.applySchema(posSchema);
  s.setMeta('store_id', '1');
  return s;
}
