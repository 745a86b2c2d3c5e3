import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sellLocally } from '../testing/pos-sale.js';
import { memoryTill } from '../testing/memory-till.js';
import { groupEntries } from './sync-engine.js';

const till = memoryTill;

describe('the outbox read and acknowledged in batches', () => {
  test('outboxAfter reads the entries after a seq, oldest first, as outboxBatch does', () => {
    const s = till();
    for (let i = 0; i < 4; i++) sellLocally(s.db, i);
    const all = s.outboxBatch(100);
    assert.equal(all.length, 20);
    assert.deepEqual(s.outboxAfter(Number.NEGATIVE_INFINITY, 100), all);
    assert.deepEqual(s.outboxAfter(all[6].seq, 5), all.slice(7, 12));
    assert.deepEqual(s.outboxAfter(all[19].seq, 5), []);
    s.close();
  });

  test('acknowledge removes exactly those entries, keeps them delivered and raises their versions', () => {
    const s = till();
    for (let i = 0; i < 3; i++) sellLocally(s.db, i);
    const all = s.outboxBatch(100);
    const acked = all.slice(0, 10);
    s.setVersion(acked[0].table_name, acked[0].row_id, 7);
    s.acknowledge(
      acked.map((e) => e.seq),
      acked.map((e, i) => [e.table_name, e.row_id, i + 1] as const),
      '2026-12-01T00:00:00.000Z',
    );
    assert.deepEqual(
      s.outboxBatch(100).map((e) => e.seq),
      all.slice(10).map((e) => e.seq),
    );
    const delivered = s.db
      .prepare(`SELECT event_id, record, txn, delivered_at FROM _pdv_delivered ORDER BY event_id`)
      .all() as { event_id: string; record: string; txn: string | null; delivered_at: string }[];
    assert.deepEqual(
      delivered.map((d) => d.event_id),
      acked.map((e) => e.event_id).sort(),
    );
    for (const d of delivered) {
      const e = acked.find((x) => x.event_id === d.event_id);
      assert.equal(d.record, e?.record);
      assert.equal(d.txn, e?.txn);
      assert.equal(d.delivered_at, '2026-12-01T00:00:00.000Z');
    }
    const version = (e: { table_name: string; row_id: string }) =>
      (
        s.db
          .prepare(`SELECT version FROM _pdv_versions WHERE table_name = ? AND row_id = ?`)
          .get(e.table_name, e.row_id) as { version: number }
      ).version;
    // A version is never lowered (7 was there before the answer's 1).
    assert.equal(version(acked[0]), 7);
    assert.equal(version(acked[9]), 10);
    s.close();
  });

  test('acknowledge without a retention keeps nothing delivered', () => {
    const s = till();
    sellLocally(s.db, 0);
    const all = s.outboxBatch(100);
    s.acknowledge(
      all.map((e) => e.seq),
      [],
      null,
    );
    assert.equal(s.counts().backlog, 0);
    assert.equal(
      (s.db.prepare(`SELECT COUNT(*) AS n FROM _pdv_delivered`).get() as { n: number }).n,
      0,
    );
    s.close();
  });

  test('a sale written with plain SQL is one group, whichever window it starts', () => {
    const s = till();
    for (let i = 0; i < 5; i++) sellLocally(s.db, i);
    const all = s.outboxBatch(100);
    // A window of 7 asked for batches of 3: the first sale (5 entries) whole, nothing of the second.
    const groups = groupEntries(all.slice(0, 7), 3);
    assert.deepEqual(
      groups.map((g) => g.length),
      [5],
    );
    s.close();
  });
});
