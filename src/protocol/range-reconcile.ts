/**
 * Range-hash reconciliation: a terminal and the server find the ids of the rows where they
 * differ by comparing digests over ranges of ids, narrowing only where digests differ.
 *
 * The id space of a table is ordered by Unicode code point (what SQLite's BINARY collation and
 * PostgreSQL's `COLLATE "C"` give for UTF-8 text). A range is `[lo, hi)` with `null` for an open
 * end. Each round the terminal sends ranges with its own count and digest; for each the server
 * answers `same`, or — its count at most `leafSize` — its rows' ids and hashes, or it splits the
 * range into at most `fanout` sub-ranges at its own id quantiles and answers each one's count and
 * digest. The terminal compares the sub-ranges and asks again only about those that differ.
 *
 * Invariants (tested in range-reconcile.test.ts):
 * 1. the ids found are exactly those whose row differs, is missing on one side or extra on it;
 * 2. a split's sub-ranges cover its range exactly and each holds fewer server rows than it, so
 *    the narrowing ends (after about log_fanout(n / leafSize) rounds);
 * 3. a range where both sides agree is never asked about again, so the bytes exchanged grow
 *    with the number of divergent rows, not with the table.
 *
 * Pure: no I/O. The server answers with `answerRanges`; the terminal drives `RangeReconcile`.
 */

import type { Digest } from './row-digest.js';

/** Compares two ids by Unicode code point (UTF-8 byte order), not by UTF-16 code unit. */
export function compareIds(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (D800–DFFF) encode code points above FFFF: move them above E000–FFFF.
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

/** A row as reconciliation sees it: its id and the hash of its canonical encoding. */
export type HashedRow = { id: string; hash: Digest };

/** `[lo, hi)` in id order; `null` is an open end. */
export type IdRange = { lo: string | null; hi: string | null };

export type RangeSummary = IdRange & { count: number; digest: Digest };

/**
 * The rows of one side of one table, sorted by id, with range queries by binary search and
 * range digests from prefix sums (each summary costs O(log n), not a pass over its rows).
 */
export class RowIndex {
  readonly rows: readonly HashedRow[];
  /** Sum of the hashes of rows [0, i) modulo 2^64, as high and low 32-bit halves. */
  private readonly prefixHi: Uint32Array;
  private readonly prefixLo: Uint32Array;

  constructor(rows: Iterable<HashedRow>) {
    const list = [...rows];
    // Rows read with ORDER BY id from SQLite (BINARY) are in order already: check in O(n).
    let sorted = true;
    for (let i = 1; i < list.length && sorted; i++)
      sorted = compareIds(list[i - 1].id, list[i].id) < 0;
    this.rows = sorted ? list : list.sort((a, b) => compareIds(a.id, b.id));
    const n = this.rows.length;
    this.prefixHi = new Uint32Array(n + 1);
    this.prefixLo = new Uint32Array(n + 1);
    for (let i = 0; i < n; i++) {
      const h = this.rows[i].hash;
      const lo = this.prefixLo[i] + parseInt(h.slice(8), 16);
      this.prefixLo[i + 1] = lo >>> 0;
      this.prefixHi[i + 1] =
        (this.prefixHi[i] + parseInt(h.slice(0, 8), 16) + (lo > 0xffffffff ? 1 : 0)) >>> 0;
    }
  }

  /** First position whose id is >= `id` (`null`: 0). */
  private lowerBound(id: string | null): number {
    if (id === null) return 0;
    let lo = 0;
    let hi = this.rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareIds(this.rows[mid].id, id) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Positions `[start, end)` of the rows inside `range`. */
  span(range: IdRange): [number, number] {
    const start = this.lowerBound(range.lo);
    const end = range.hi === null ? this.rows.length : this.lowerBound(range.hi);
    return [start, Math.max(start, end)];
  }

  inRange(range: IdRange): HashedRow[] {
    const [s, e] = this.span(range);
    return this.rows.slice(s, e);
  }

  summarize(range: IdRange): RangeSummary {
    const [s, e] = this.span(range);
    // prefix[e] - prefix[s] modulo 2^64, with the borrow from the low half.
    const loE = this.prefixLo[e];
    const loS = this.prefixLo[s];
    const lo = (loE - loS) >>> 0;
    const hi = (this.prefixHi[e] - this.prefixHi[s] - (loE < loS ? 1 : 0)) >>> 0;
    return { lo: range.lo, hi: range.hi, count: e - s, digest: hex32(hi) + hex32(lo) };
  }
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, '0');
}

export type RangeAnswer =
  | { kind: 'same' }
  | { kind: 'rows'; rows: HashedRow[] }
  | { kind: 'split'; ranges: RangeSummary[] };

export type NarrowingOptions = {
  /** A range holding at most this many server rows is answered with its rows. */
  leafSize: number;
  /** A larger range is split into at most this many sub-ranges. */
  fanout: number;
};

export const defaultNarrowing: NarrowingOptions = { leafSize: 32, fanout: 16 };

/** The server's answer for one range the terminal summarised. */
export function answerRange(
  server: RowIndex,
  asked: RangeSummary,
  options: NarrowingOptions = defaultNarrowing,
): RangeAnswer {
  const mine = server.summarize(asked);
  if (mine.count === asked.count && mine.digest === asked.digest) return { kind: 'same' };
  const [s, e] = server.span(asked);
  const count = e - s;
  if (count <= options.leafSize) return { kind: 'rows', rows: server.rows.slice(s, e) };
  const parts = Math.max(2, Math.min(options.fanout, count));
  const ranges: RangeSummary[] = [];
  let lo = asked.lo;
  for (let p = 1; p <= parts; p++) {
    // Cut at the server's id quantiles; the last sub-range ends where the asked one does.
    const hi = p === parts ? asked.hi : server.rows[s + Math.floor((count * p) / parts)].id;
    ranges.push(server.summarize({ lo, hi }));
    lo = hi;
  }
  return { kind: 'split', ranges };
}

/** Why a row id was found divergent: values differ, or only one side holds it. */
export type DivergenceKind = 'changed' | 'missing-on-terminal' | 'extra-on-terminal';
export type Divergence = { id: string; kind: DivergenceKind };

/** Compares the rows of one range on both sides. */
export function compareRows(
  local: readonly HashedRow[],
  server: readonly HashedRow[],
): Divergence[] {
  const theirs = new Map(server.map((r) => [r.id, r.hash]));
  const out: Divergence[] = [];
  for (const r of local) {
    const h = theirs.get(r.id);
    if (h === undefined) out.push({ id: r.id, kind: 'extra-on-terminal' });
    else if (h !== r.hash) out.push({ id: r.id, kind: 'changed' });
    theirs.delete(r.id);
  }
  for (const id of theirs.keys()) out.push({ id, kind: 'missing-on-terminal' });
  return out;
}

/**
 * The terminal's side of the narrowing for one table: `start()` gives the first range to ask
 * about; `receive()` takes the server's answers for the ranges asked and returns the next ones.
 * Divergent ids accumulate in `found`.
 */
export class RangeReconcile {
  readonly found: Divergence[] = [];

  constructor(readonly local: RowIndex) {}

  start(): RangeSummary[] {
    return [this.local.summarize({ lo: null, hi: null })];
  }

  receive(asked: readonly RangeSummary[], answers: readonly RangeAnswer[]): RangeSummary[] {
    const next: RangeSummary[] = [];
    asked.forEach((range, i) => {
      const answer = answers[i];
      if (!answer || answer.kind === 'same') return;
      if (answer.kind === 'rows') {
        this.found.push(...compareRows(this.local.inRange(range), answer.rows));
        return;
      }
      for (const theirs of answer.ranges) {
        const mine = this.local.summarize(theirs);
        if (mine.count !== theirs.count || mine.digest !== theirs.digest) next.push(mine);
      }
    });
    return next;
  }
}
