import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  answerRange,
  compareIds,
  RangeReconcile,
  RowIndex,
  type HashedRow,
  type NarrowingOptions,
  type RangeSummary,
} from './range-reconcile.js';
import { DigestSum, encodeRow, hashRow, hashText, hashValues } from './row-digest.js';

/** Runs the narrowing to its end in memory; returns what was found and what crossed the wire. */
function run(local: HashedRow[], server: HashedRow[], options?: NarrowingOptions) {
  const serverIndex = new RowIndex(server);
  const terminal = new RangeReconcile(new RowIndex(local));
  let asked: RangeSummary[] = terminal.start();
  let rounds = 0;
  let bytes = 0;
  while (asked.length) {
    rounds++;
    const answers = asked.map((a) => answerRange(serverIndex, a, options));
    bytes += JSON.stringify(asked).length + JSON.stringify(answers).length;
    asked = terminal.receive(asked, answers);
  }
  return { found: terminal.found, rounds, bytes };
}

const idArb = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }),
  fc.integer({ min: 0, max: 10_000 }).map(String),
  fc.uuid(),
);

describe('range-hash reconcile', () => {
  it('finds exactly the divergent ids: changed, missing on the terminal, extra on it', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(idArb, { maxLength: 400 }),
        fc.array(fc.tuple(fc.nat(), fc.constantFrom('change', 'drop-local', 'drop-server')), {
          maxLength: 12,
        }),
        fc.uniqueArray(idArb, { maxLength: 5 }),
        fc.record({
          leafSize: fc.integer({ min: 1, max: 40 }),
          fanout: fc.integer({ min: 2, max: 20 }),
        }),
        (ids, edits, extras, options) => {
          const server = new Map(ids.map((id) => [id, hashText(`v0:${id}`)]));
          const local = new Map(server);
          for (const [n, what] of edits) {
            if (ids.length === 0) break;
            const id = ids[n % ids.length];
            if (what === 'change') local.set(id, hashText(`v1:${id}:${n}`));
            else if (what === 'drop-local') local.delete(id);
            else server.delete(id);
          }
          for (const id of extras) if (!server.has(id)) local.set(id, hashText(`x:${id}`));
          // The oracle: a plain comparison of the two final sets.
          const expected = new Map<string, string>();
          for (const [id, h] of local)
            if (!server.has(id)) expected.set(id, 'extra-on-terminal');
            else if (server.get(id) !== h) expected.set(id, 'changed');
          for (const id of server.keys())
            if (!local.has(id)) expected.set(id, 'missing-on-terminal');
          const rows = (m: Map<string, string>) => [...m].map(([id, hash]) => ({ id, hash }));
          const { found } = run(rows(local), rows(server), options);
          const got = new Map(found.map((d) => [d.id, d.kind]));
          assert.equal(found.length, got.size, 'an id was reported twice');
          assert.deepEqual([...got].sort(), [...expected].sort());
        },
      ),
      { numRuns: 300 },
    );
  });

  it('3 divergent rows among 100,000 cost a few KB in a handful of rounds', () => {
    const server: HashedRow[] = [];
    for (let i = 0; i < 100_000; i++) server.push({ id: `p${i}`, hash: hashText(`row ${i}`) });
    const local = server.map((r) => ({ ...r }));
    for (const i of [17, 50_001, 99_998]) local[i].hash = hashText(`bad ${i}`);
    const { found, rounds, bytes } = run(local, server);
    assert.deepEqual(found.map((d) => d.id).sort(), ['p17', 'p50001', 'p99998']);
    assert.ok(rounds <= 5, `rounds ${rounds}`);
    assert.ok(bytes < 16_000, `bytes ${bytes}`);
  });

  it('sides that agree settle in one round with one range each way', () => {
    const rows = Array.from({ length: 1000 }, (_, i) => ({
      id: String(i),
      hash: hashText(`${i}`),
    }));
    const { found, rounds } = run(rows, [...rows].reverse());
    assert.deepEqual(found, []);
    assert.equal(rounds, 1);
  });

  it('a split covers its range exactly with fewer server rows in each part', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(idArb, { minLength: 2, maxLength: 300 }),
        fc.integer({ min: 2, max: 17 }),
        (ids, fanout) => {
          const index = new RowIndex(ids.map((id) => ({ id, hash: hashText(id) })));
          const answer = answerRange(
            index,
            { lo: null, hi: null, count: 0, digest: '0000000000000001' },
            { leafSize: 1, fanout },
          );
          assert.equal(answer.kind, 'split');
          if (answer.kind !== 'split') return;
          assert.equal(answer.ranges[0]?.lo, null);
          assert.equal(answer.ranges.at(-1)?.hi, null);
          for (let i = 1; i < answer.ranges.length; i++)
            assert.equal(answer.ranges[i]?.lo, answer.ranges[i - 1]?.hi);
          assert.equal(
            answer.ranges.reduce((n, r) => n + r.count, 0),
            ids.length,
          );
          for (const r of answer.ranges) assert.ok(r.count < ids.length);
        },
      ),
    );
  });

  it('a range summary from prefix sums equals the sum of its rows', () => {
    fc.assert(
      fc.property(fc.uniqueArray(idArb, { maxLength: 200 }), idArb, idArb, (ids, a, b) => {
        const index = new RowIndex(ids.map((id) => ({ id, hash: hashText(`h${id}`) })));
        const range = { lo: a, hi: b };
        const sum = new DigestSum();
        for (const r of index.inRange(range)) sum.add(r.hash);
        assert.equal(index.summarize(range).digest, sum.value);
      }),
    );
  });

  it('orders ids by code point, as SQLite BINARY and PostgreSQL COLLATE "C" order UTF-8', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        const bytes = Buffer.compare(Buffer.from(a), Buffer.from(b));
        assert.equal(Math.sign(compareIds(a, b)), bytes);
      }),
    );
  });
});

describe('canonical row encoding', () => {
  const table = {
    columns: [
      { name: 'id', type: 'text' as const, required: true },
      { name: 'preco', type: 'number' as const, required: false },
      { name: 'ativo', type: 'boolean' as const, required: false },
      { name: 'atualizado_em', type: 'timestamp' as const, required: false },
      { name: 'extra', type: 'json' as const, required: false },
    ],
  };

  it('encodes alike what the coercion rule calls the same value on either engine', () => {
    const server = {
      id: '1',
      preco: 2.5,
      ativo: true,
      atualizado_em: '2026-11-30T12:00:00.000Z',
      extra: { b: 1, a: [1, { d: 2, c: 3 }] },
    };
    const terminal = {
      id: 1,
      preco: '2.5',
      ativo: 1,
      atualizado_em: '2026-11-30T09:00:00-03:00',
      extra: '{"a":[1,{"c":3,"d":2}],"b":1}',
    };
    assert.equal(encodeRow(table, terminal), encodeRow(table, server));
    assert.equal(hashRow(table, terminal), hashRow(table, server));
  });

  it("reads a till's naive timestamp in the store's time zone, as the server did", () => {
    const server = { id: '1', atualizado_em: '2026-11-30T15:00:00.000Z' };
    const local = ['1', null, null, '2026-11-30 12:00:00', null];
    assert.equal(hashValues(table, local, 'America/Sao_Paulo'), hashRow(table, server));
    assert.notEqual(hashValues(table, local), hashRow(table, server));
  });

  it('tells apart null from a value, and a changed value', () => {
    const a = { id: '1', preco: 0, ativo: false, atualizado_em: null, extra: null };
    assert.notEqual(hashRow(table, a), hashRow(table, { ...a, preco: null }));
    assert.notEqual(hashRow(table, a), hashRow(table, { ...a, ativo: true }));
    assert.equal(hashRow(table, a), hashRow(table, { ...a, extra: undefined }));
  });

  it('a range digest is order independent', () => {
    fc.assert(
      fc.property(fc.array(fc.string()), (texts) => {
        const hashes = texts.map(hashText);
        const forward = new DigestSum();
        for (const h of hashes) forward.add(h);
        const backward = new DigestSum();
        for (const h of [...hashes].reverse()) backward.add(h);
        assert.equal(forward.value, backward.value);
      }),
    );
  });
});
