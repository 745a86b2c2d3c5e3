import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { agentPayload, windowAt } from '../testing/ingest-payload.js';
import { parseDuration } from './duration.js';
import { Outbox } from './outbox.js';

test('delivered payloads are kept for the retention and re-queued from a point in time', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pdv-delivered-'));
  try {
    const outbox = new Outbox(dir);
    const day = 86_400_000;
    const now = Date.parse('2026-11-30T12:00:00Z');
    const times = [now - 8 * day, now - 2 * day, now - 10 * 60_000, now - 60_000];
    times.forEach((at, i) => {
      const entry = outbox.enqueue(agentPayload({ window: windowAt(i * 10) }));
      outbox.remove(entry, true, at);
    });
    assert.equal(outbox.list().length, 0);
    assert.equal(outbox.delivered().length, 4);
    assert.equal(
      outbox.purgeDelivered(now - parseDuration('7d')!),
      1,
      'older than 7 days: forgotten',
    );
    // A restore whose backup was taken 6 minutes ago: re-send since 11 minutes ago.
    assert.equal(outbox.requeueDelivered(now - 11 * 60_000), 2);
    const queued = outbox.list();
    assert.equal(queued.length, 2);
    assert.ok(queued.every((e) => e.attempts === 0));
    // Sequence numbers keep growing: the re-queued files come after anything queued before.
    const next = outbox.enqueue(agentPayload({ window: windowAt(90) }));
    assert.ok(next.seq > Math.max(...queued.map((e) => e.seq)));
    assert.equal(outbox.requeueDelivered(null), 1, 'no restore point: everything kept');
    assert.equal(readdirSync(outbox.deliveredDir).length, 0);
    // Unchanged bytes: the same sync_id goes out again.
    const ids = outbox.list().map((e) => outbox.read(e).payload.integrity.sync_id);
    assert.equal(new Set(ids).size, 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
