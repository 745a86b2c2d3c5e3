import type { PushResult, RejectedResult, TableDef, TableNames } from '../../../protocol/index.js';
import type { Prepared } from './context.js';
import type { Refused } from './decode.js';
import { rejected } from './results.js';

/**
 * Sale groups (contract C1): which mutations of one request stand or fall together.
 * Members: the same `group` label; and a child row whose parent row (the schema's
 * `parent` relation) is in the same request joins the parent's group. Every
 * other mutation is a group of its own. Works on malformed mutations too, from
 * whatever of their fields can be read, so a malformed member still sinks its group.
 */
export class Groups {
  private readonly root: number[];
  private readonly size: number[];

  constructor(
    raws: readonly unknown[],
    decoded: readonly (Prepared | Refused)[],
    names: TableNames,
  ) {
    this.root = raws.map((_, i) => i);
    this.size = raws.map(() => 1);
    const byLabel = new Map<string, number>();
    // Rows by table name, then id: no key text built per mutation.
    const byRow = new Map<string, Map<string, number>>();
    const facts = decoded.map((d, i) => facts0(raws[i], d, names));
    facts.forEach((f, i) => {
      if (f.group !== undefined) {
        const first = byLabel.get(f.group);
        if (first === undefined) byLabel.set(f.group, i);
        else this.union(first, i);
      }
      if (f.table && f.id !== undefined) {
        let ids = byRow.get(f.table.name);
        if (!ids) byRow.set(f.table.name, (ids = new Map<string, number>()));
        if (!ids.has(f.id)) ids.set(f.id, i);
      }
    });
    facts.forEach((f, i) => {
      const parent = f.table?.parent;
      if (!parent || f.parentId === undefined) return;
      const p = byRow.get(parent.table)?.get(f.parentId);
      if (p !== undefined) this.union(p, i);
    });
  }

  /** The group of the mutation at `index` (a representative index). */
  of(index: number): number {
    let r = index;
    while (this.root[r] !== r) r = this.root[r] ?? r;
    // Path compression: later look-ups are O(1).
    let i = index;
    while (this.root[i] !== r) {
      const next = this.root[i] ?? r;
      this.root[i] = r;
      i = next;
    }
    return r;
  }

  /** Whether the group has more than one member (only those are all-or-nothing beyond one row). */
  shared(index: number): boolean {
    return (this.size[this.of(index)] ?? 1) > 1;
  }

  private union(a: number, b: number): void {
    const ra = this.of(a);
    const rb = this.of(b);
    if (ra === rb) return;
    const [big, small] = (this.size[ra] ?? 1) >= (this.size[rb] ?? 1) ? [ra, rb] : [rb, ra];
    this.root[small] = big;
    this.size[big] = (this.size[big] ?? 1) + (this.size[small] ?? 1);
  }
}

type Facts = {
  group: string | undefined;
  table: TableDef | undefined;
  id: string | undefined;
  parentId: string | undefined;
};

function facts0(raw: unknown, d: Prepared | Refused, names: TableNames): Facts {
  if ('mutation' in d) {
    const parent = d.table.parent;
    return {
      group: d.mutation.group,
      table: d.table,
      id: d.id,
      parentId: parent ? idText(d.values[parent.column]) : undefined,
    };
  }
  const o = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  const record =
    o['record'] !== null && typeof o['record'] === 'object'
      ? (o['record'] as Record<string, unknown>)
      : {};
  const table = typeof o['table'] === 'string' ? names.resolve(o['table']) : undefined;
  return {
    group: typeof o['group'] === 'string' ? o['group'] : undefined,
    table,
    id: idText(record['id']),
    parentId: table?.parent ? idText(record[table.parent.column]) : undefined,
  };
}

function idText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  return undefined;
}

/**
 * Every member of a group with a rejected member is answered rejected: the
 * offending ones keep their own reason, the others get GROUP_REJECTED naming the
 * first offending member's index. `echo` gives what a member's answer repeats.
 */
export function rejectGroupmates(
  groups: Groups,
  results: PushResult[],
  count: number,
  echo: (index: number) => { eventId: string; table: string; record?: unknown },
): void {
  const offender = new Map<number, number>();
  for (let i = 0; i < count; i++)
    if (results[i]?.status === 'rejected' && !offender.has(groups.of(i)))
      offender.set(groups.of(i), i);
  for (let i = 0; i < count; i++) {
    const first = offender.get(groups.of(i));
    if (first === undefined || results[i]?.status === 'rejected') continue;
    const reason = (results[first] as RejectedResult).reason;
    results[i] = rejected(
      echo(i),
      'GROUP_REJECTED',
      `rejected with its group: mutation ${first} was rejected (${reason.code})`,
    );
  }
}
