import {
  decimalsAsNumbers,
  decimalTextProtocol,
  type MutationResult,
  type TableDef,
} from '../../protocol/index.js';

/**
 * Whether this request's client reads decimals as canonical text: it declared protocol 4 or
 * later in `x-pdv-sync-protocol`. Everyone else (older SDKs, the seed-compatible clients, curl)
 * keeps reading JSON numbers, exact up to 15 digits (docs/protocol.md, "Decimals").
 */
export function wantsDecimalText(request: { headers: Record<string, unknown> }): boolean {
  const declared = request.headers['x-pdv-sync-protocol'];
  const version = Number(Array.isArray(declared) ? declared[0] : declared);
  return Number.isInteger(version) && version >= decimalTextProtocol;
}

/** Rows for this request: decimals as text when it asked for them, else as numbers. */
export function rowsForWire(
  request: { headers: Record<string, unknown> },
  table: TableDef,
  rows: Record<string, unknown>[],
): Record<string, unknown>[] {
  return wantsDecimalText(request) ? rows : rows.map((r) => decimalsAsNumbers(table, r));
}

/** Push results for this request: the rows they carry (conflicts) with decimals as it reads them. */
export function resultsForWire(
  request: { headers: Record<string, unknown> },
  resolve: (table: string) => TableDef | undefined,
  results: MutationResult[],
): MutationResult[] {
  if (wantsDecimalText(request)) return results;
  return results.map((r) => {
    const table = r.table && (r.serverRecord || r.overwritten) ? resolve(r.table) : undefined;
    if (!table) return r;
    return {
      ...r,
      ...(r.serverRecord ? { serverRecord: decimalsAsNumbers(table, r.serverRecord) } : {}),
      ...(r.overwritten ? { overwritten: decimalsAsNumbers(table, r.overwritten) } : {}),
    };
  });
}
