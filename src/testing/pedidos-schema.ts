import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ColumnDef } from '../protocol/index.js';
import { defaultSchemaFile } from '../server/config.js';

/**
 * The bundled schema with `pedidos` numbered by integers (as screens that compare
 * `pedido.id === msg.pedido_id` with numbers have it), plus `extraColumns`; written to
 * `dir`/schema.json, whose path is returned (for `schemaFile`).
 */
export function integerPedidosSchema(dir: string, extraColumns: ColumnDef[] = []): string {
  const schema = JSON.parse(readFileSync(defaultSchemaFile, 'utf8')) as {
    tables: { name: string; columns: ColumnDef[] }[];
  };
  const pedidos = schema.tables.find((t) => t.name === 'pedidos');
  const id = pedidos?.columns.find((c) => c.name === 'id');
  if (!pedidos || !id) throw new Error('the bundled schema has no pedidos.id');
  id.type = 'integer';
  pedidos.columns.push(...extraColumns);
  const file = join(dir, 'schema.json');
  writeFileSync(file, JSON.stringify(schema));
  return file;
}
