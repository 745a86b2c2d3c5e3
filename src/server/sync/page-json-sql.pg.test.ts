import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { ColumnDef, ColumnType } from '../../protocol/index.js';
import { PostgresStorage } from '../storage/index.js';
import { postgresUrl } from '../../testing/test-database.js';
import { asciiJson, RowJsonWriter } from './page-json.js';

/** A small deterministic generator (mulberry32), so a failure replays. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const storage = new PostgresStorage(postgresUrl, {});
after(() => storage.close());

/**
 * The JSON a pull page takes from PostgreSQL (`columnJson`) is the text the page writer
 * writes in JS from what the driver hands it, once both are in ASCII; values the engine
 * leaves (SQL NULL) are written in JS. A temporary table only: no schema is touched.
 */
test('PostgreSQL builds the same JSON as the page writer, or none', async () => {
  const next = random(11);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)];
  const chars = ['a', '0', '-', ':', '"', '\\', '\n', '\u0001', '\u007f', 'ã', '—', '😀'];
  const text = () => Array.from({ length: Math.floor(next() * 24) }, () => pick(chars)).join('');
  const digits = (max: number) => String(Math.floor(next() * 10 ** Math.floor(next() * max)));
  const cases: [ColumnType, string, () => unknown, number?][] = [
    ['text', 'TEXT', text],
    ['integer', 'BIGINT', () => Math.floor((next() - 0.5) * 2 ** (next() * 62)).toString()],
    [
      'number',
      'DOUBLE PRECISION',
      () =>
        next() < 0.5
          ? Math.floor((next() - 0.5) * 2 ** (next() * 60))
          : (next() - 0.5) * 10 ** (next() * 30 - 10),
    ],
    ['boolean', 'BOOLEAN', () => next() < 0.5],
    [
      'timestamp',
      'TIMESTAMPTZ',
      () =>
        new Date(Math.floor(next() * 2.8e14 - 3.0e13))
          .toISOString()
          .replace('Z', String(Math.floor(next() * 1000)).padStart(3, '0')),
    ],
    ['decimal', 'NUMERIC(18, 2)', () => `${pick(['', '-'])}${digits(16)}.${digits(3)}`, 2],
    ['decimal', 'NUMERIC(18, 0)', () => `${pick(['', '-'])}${digits(18)}`, 0],
    ['json', 'JSONB', () => JSON.stringify({ a: text() })],
  ];
  let built = 0;
  await storage.transaction(async (tx) => {
    for (const [type, sqlType, generate, scale] of cases) {
      const column: ColumnDef = {
        name: 'x',
        type,
        required: false,
        ...(scale !== undefined ? { scale } : {}),
      };
      const writer = new RowJsonWriter(storage, { name: 't', columns: [column] } as never, 'text');
      await tx.run(`DROP TABLE IF EXISTS pg_temp.page_json_values`);
      await tx.run(`CREATE TEMP TABLE page_json_values (i INT, x ${sqlType})`);
      const values = Array.from({ length: 1500 }, () => (next() < 0.1 ? null : generate()));
      for (let i = 0; i < values.length; i += 500) {
        const chunk = values.slice(i, i + 500);
        await tx.run(
          `INSERT INTO page_json_values VALUES ${chunk.map(() => '(?, ?)').join(', ')}`,
          chunk.flatMap((v, k) => [i + k, v]),
        );
      }
      const rows = await tx.all<{ x: unknown; j: string | null }>(
        `SELECT x, ${storage.capabilities.columnJson(column, 'x')} AS j FROM page_json_values ORDER BY i`,
      );
      for (const row of rows) {
        if (row.j === null) continue;
        built++;
        assert.equal(
          asciiJson(`{"x":${row.j}}`),
          writer.write({ x: row.x }),
          `${type} ${JSON.stringify(row.x)}`,
        );
      }
    }
    await tx.run('DROP TABLE pg_temp.page_json_values');
  });
  assert.ok(built > 8000, `only ${built} values built by PostgreSQL`);
});
