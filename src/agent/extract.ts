import { toLocalNaive } from './local-time.js';
import type { ChannelQueries, QueryKind } from './queries/query-set.js';
import type { SourceDb, SourceRow } from './sources/source-db.js';
import type { SyncWindow } from './window.js';

export type ChannelRows = Record<QueryKind, SourceRow[]>;

/** The named parameters every query file receives. */
export function queryParams(
  window: SyncWindow,
  offsetMinutes: number,
  store: number | null,
  dialect: SourceDb['dialect'],
): Record<string, unknown> {
  // SQL Server reads `YYYY-MM-DDTHH:MM:SS` the same under every language setting.
  const sep = dialect === 'mssql' ? 'T' : ' ';
  return {
    from: toLocalNaive(window.fromMs, offsetMinutes, sep),
    to: toLocalNaive(window.toMs, offsetMinutes, sep),
    store,
  };
}

/** Runs the channel's query files for one window; any failure rejects (the channel is down). */
export async function extractChannel(
  source: SourceDb,
  queries: ChannelQueries,
  params: Record<string, unknown>,
): Promise<ChannelRows> {
  const out: ChannelRows = {
    vendas: [],
    itens: [],
    pagamentos: [],
    turnos: [],
    turnos_meios: [],
    sangrias: [],
  };
  for (const kind of Object.keys(out) as QueryKind[]) {
    const sql = queries[kind];
    if (sql !== undefined) out[kind] = await source.query(sql, params);
  }
  return out;
}
