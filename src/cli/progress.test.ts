import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { progressLine } from './progress.js';

test('the push counter never exceeds its total, even when sales arrive during the push', () => {
  process.env['PDV_SYNC_LANG'] = 'en';
  assert.equal(
    progressLine({ phase: 'push', done: 120, total: 100, tables: [] }),
    'Pushing: 120/120',
  );
  assert.equal(
    progressLine({ phase: 'push', done: 50, total: 100, tables: [] }),
    'Pushing: 50/100',
  );
  assert.equal(progressLine({ phase: 'push', done: 0, total: 0, tables: [] }), null);
  fc.assert(
    fc.property(
      fc.constantFrom('push' as const, 'pull' as const),
      fc.nat(1e9),
      fc.integer({ min: 1, max: 1e9 }),
      (phase, done, total) => {
        const line = progressLine({ phase, done, total, tables: ['vendas'] })!;
        const [, d, tot] = /(\d+)\/(\d+)/.exec(line)!.map(Number);
        assert.ok(d <= tot, line);
        const pct = /\((\d+)%\)/.exec(line);
        if (pct) assert.ok(Number(pct[1]) <= 100);
      },
    ),
  );
});
