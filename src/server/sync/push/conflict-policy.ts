import type { TableDef } from '../../../protocol/index.js';
import type { Identity } from '../../auth/index.js';
import type { Existing, Prepared } from './context.js';

/**
 * What a write to an existing row of a mutable table does, under the table's policy:
 * - `apply`: the terminal had seen the row's current state (or is not a terminal);
 * - `overwrite`: stale, but the table is client-wins: applied, and the lost server
 *   state is stored as a conflict;
 * - `conflict`: stale under server-wins or last-write-wins: the server's row stays.
 */
export type Verdict = 'apply' | 'overwrite' | 'conflict';

export function judge(identity: Identity, p: Prepared, existing: Existing): Verdict {
  if (identity.role === 'admin' || !isStale(p.table, p, existing)) return 'apply';
  return p.table.policy === 'client-wins' ? 'overwrite' : 'conflict';
}

/** Whether the terminal wrote without having seen the row's current version. */
export function isStale(table: TableDef, p: Prepared, existing: Existing): boolean {
  const m = p.mutation;
  if (table.policy === 'last-write-wins') {
    const theirs = p.clientTime ?? new Date().toISOString();
    const ours =
      (typeof existing.row['updated_at'] === 'string' ? existing.row['updated_at'] : null) ??
      existing.updatedAt;
    return ours !== null && theirs < ours;
  }
  if (m.baseVersion !== undefined) return m.baseVersion < existing.version;
  // Without a version, an update older than the row's last server write is stale.
  return p.clientTime !== null && existing.updatedAt !== null && p.clientTime < existing.updatedAt;
}

/** The values to write: under last-write-wins the row's time is the write's effective time. */
export function withClientTime(table: TableDef, p: Prepared): Record<string, unknown> {
  const values = { ...p.values };
  if (table.policy === 'last-write-wins' && table.columns.some((c) => c.name === 'updated_at'))
    // The one the next writer is compared with.
    values['updated_at'] = p.clientTime ?? values['updated_at'] ?? new Date().toISOString();
  return values;
}
