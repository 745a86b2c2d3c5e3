import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SyncError } from '../../protocol/index.js';

/** The queries shipped for the reference schema (docs/agent.md); users point `AGENT_QUERIES_DIR` at their own. */
export const defaultQueriesDir = fileURLToPath(new URL('../../../config/agent/', import.meta.url));

export const sourceNames = ['caixa', 'gestao'] as const;
export type SourceName = (typeof sourceNames)[number];

/** What each file returns; `vendas` is required, the others optional. */
export const queryKinds = [
  'vendas',
  'itens',
  'pagamentos',
  'turnos',
  'turnos_meios',
  'sangrias',
] as const;
export type QueryKind = (typeof queryKinds)[number];

export type ChannelQueries = Partial<Record<QueryKind, string>> & { vendas: string };
export type QuerySet = Record<SourceName, ChannelQueries>;

/**
 * Reads `<source>.<kind>.sql` from the folder (e.g. `caixa.vendas.sql`). Every query
 * takes the named parameters `:from`, `:to` (the window `[from, to)` as store wall-clock
 * text) and `:store` (the store id of that database).
 */
export function loadQuerySet(dir: string = defaultQueriesDir): QuerySet {
  const load = (source: SourceName): ChannelQueries => {
    const out: Partial<Record<QueryKind, string>> = {};
    for (const kind of queryKinds) {
      const file = join(dir, `${source}.${kind}.sql`);
      if (existsSync(file)) out[kind] = readFileSync(file, 'utf8');
    }
    if (out.vendas === undefined)
      throw new SyncError(
        'CONFIG_INVALID',
        `AGENT_QUERIES_DIR: ${join(dir, `${source}.vendas.sql`)} is missing`,
        { details: { file: join(dir, `${source}.vendas.sql`) } },
      );
    return out as ChannelQueries;
  };
  return { caixa: load('caixa'), gestao: load('gestao') };
}
