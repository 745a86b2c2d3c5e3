import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import type Database from 'better-sqlite3';
import { quickCanonicalDecimal, type ColumnDef, type ColumnType } from '../../protocol/index.js';
import { SqliteStorage } from '../storage/index.js';
import { asciiJson, RowJsonWriter } from './page-json.js';

const BetterSqlite = createRequire(import.meta.url)('better-sqlite3') as typeof Database;

/** A small deterministic generator (mulberry32), so a failure replays. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const storage = new SqliteStorage(':memory:');
const columnJson = storage.capabilities.columnJson;

/**
 * The JSON a pull page takes from the engine (`columnJson`, SQLite) is the text the page
 * writer writes from the row in JS (`RowJsonWriter`), once both are in ASCII: for every
 * value the engine writes itself, and it hands the rest (SQL NULL) to the JS writer.
 */
test('SQLite builds the same JSON as the page writer, or none', () => {
  const next = random(7);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)];
  const chars = ['a', '0', '9', '-', ':', '.', 'T', 'Z', '"', '\\', '\n', '\u0001', 'ã', '—', '😀'];
  const text = () => Array.from({ length: Math.floor(next() * 24) }, () => pick(chars)).join('');
  const time = () => new Date(Math.floor(next() * 4e12)).toISOString();
  const decimal = (scale: number) => {
    const int = String(Math.floor(next() * 10 ** Math.floor(next() * 19)));
    const frac = Array.from({ length: scale }, () => pick(['0', '1', '9'])).join('');
    return `${pick(['', '-'])}${int}${scale > 0 ? `.${frac}` : ''}`;
  };
  const db = new BetterSqlite(':memory:');
  let built = 0;
  const types: [ColumnType, string, number?][] = [
    ['text', 'TEXT'],
    ['integer', 'INTEGER'],
    ['number', 'REAL'],
    ['boolean', 'INTEGER'],
    ['timestamp', 'TEXT'],
    ['json', 'TEXT'],
    ['decimal', 'TEXT', 0],
    ['decimal', 'TEXT', 2],
    ['decimal', 'TEXT', 3],
  ];
  for (const [type, sqlType, scale] of types) {
    const column: ColumnDef = {
      name: 'x',
      type,
      required: false,
      ...(scale !== undefined ? { scale } : {}),
    };
    const writer = new RowJsonWriter(storage, { name: 't', columns: [column] } as never, 'text');
    db.exec(`DROP TABLE IF EXISTS t; CREATE TABLE t (x ${sqlType})`);
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    const read = db.prepare(`SELECT x, ${columnJson(column, 'x')} AS j FROM t`);
    for (let i = 0; i < 3000; i++) {
      const r = next();
      const value =
        r < 0.2
          ? text()
          : r < 0.35
            ? time()
            : r < 0.45
              ? null
              : r < 0.6
                ? Math.floor((next() - 0.5) * 2 ** 40)
                : r < 0.7
                  ? (next() - 0.5) * 1e6
                  : decimal(scale ?? pick([0, 2]));
      db.exec('DELETE FROM t');
      insert.run(value);
      const row = read.get() as { x: unknown; j: string | null };
      if (row.j === null) continue;
      built++;
      const context = `${type} ${JSON.stringify(row.x)}`;
      assert.equal(asciiJson(`{"x":${row.j}}`), writer.write({ x: row.x }), context);
      if (type === 'decimal' && typeof row.x === 'string')
        assert.equal(quickCanonicalDecimal(row.x, scale), row.x, context);
    }
  }
  assert.ok(built > 10_000, `only ${built} values built by SQLite`);
  db.close();
});

test('SQLite leaves amounts that are not canonical text to the page writer', () => {
  const db = new BetterSqlite(':memory:');
  const column: ColumnDef = { name: 'x', type: 'decimal', required: false, scale: 2 };
  const statement = db.prepare(`SELECT ${columnJson(column, '@v')} AS j`).pluck();
  const read = (v: unknown) => statement.get({ v });
  for (const odd of ['1.5', '01.50', '-0.00', '1.500', '.50', '1e3', '--1.00', '1.00 ', 3.5])
    assert.equal(read(odd), null, String(odd));
  assert.equal(read('-0.50'), '"-0.50"');
  assert.equal(read('1234567890123456.78'), '"1234567890123456.78"');
  assert.equal(read('12345678901234567.89'), null, 'past 18 digits');
  assert.equal(read(null), 'null');
  db.close();
});
