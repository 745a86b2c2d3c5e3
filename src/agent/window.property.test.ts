import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { dueWindows, horizon, nextWindow } from './window.js';

const runs = Number(process.env['PDV_SYNC_FUZZ_RUNS'] ?? 200);
const minute = 60_000;

test('windows read over any sequence of cycles tile time: contiguous, bounded, never past the horizon', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1_600_000_000, max: 1_900_000_000 }).map((s) => s * 1000),
      fc.integer({ min: 1, max: 120 }).map((m) => m * minute),
      fc.integer({ min: 0, max: 300_000 }),
      // Each cycle's clock step; a negative one is a clock set back.
      fc.array(fc.integer({ min: -10 * minute, max: 300 * minute }), {
        minLength: 1,
        maxLength: 30,
      }),
      (start, maxWindowMs, safetyLagMs, steps) => {
        const policy = { maxWindowMs, safetyLagMs };
        let last = start;
        let now = start;
        let covered = start;
        for (const step of steps) {
          now += step;
          for (const w of dueWindows(last, now, policy)) {
            assert.equal(w.fromMs, covered, 'no gap, no overlap');
            assert.ok(w.toMs > w.fromMs && w.toMs - w.fromMs <= maxWindowMs);
            assert.ok(w.toMs <= horizon(now, policy), 'never reads time still within the lag');
            assert.equal(w.toMs % 1000, 0);
            covered = w.toMs;
          }
          last = covered;
          assert.equal(nextWindow(last, now, policy), null, 'a cycle reads everything due');
        }
      },
    ),
    { numRuns: runs },
  );
});
