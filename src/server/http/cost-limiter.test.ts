import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SyncError } from '../../protocol/index.js';
import { CostLimiter } from './cost-limiter.js';

const options = { burst: 1000, ratePerSecond: 100, maxInFlight: 2, maxQueued: 1 };

test('a key spends its burst, then is refused with the seconds until it may spend again', () => {
  let now = 0;
  const limiter = new CostLimiter(options, () => now);
  limiter.check('a');
  limiter.charge('a', 1500);
  assert.throws(
    () => limiter.check('a'),
    (err: unknown) =>
      err instanceof SyncError &&
      err.code === 'RATE_LIMITED' &&
      err.details?.['retryAfterSeconds'] === 5,
  );
  // Another key is untouched by a's debt.
  limiter.check('b');
  now += 5000;
  limiter.check('a');
  // Refill never exceeds the burst.
  now += 1_000_000;
  limiter.charge('a', 1001);
  assert.throws(() => limiter.check('a'));
});

test('turns: maxInFlight run, maxQueued wait in order, the rest are refused; an abandoned wait gives its place up', async () => {
  const limiter = new CostLimiter(options);
  const r1 = await limiter.acquire('k');
  const r2 = await limiter.acquire('k');
  const abort = new AbortController();
  const waiting = limiter.acquire('k', abort.signal);
  await assert.rejects(limiter.acquire('k'), /heavy requests running/);
  abort.abort();
  await assert.rejects(waiting, /went away/);
  const third = limiter.acquire('k');
  r1();
  r1(); // idempotent: the second call must not free another turn
  const r3 = await third;
  const fourth = limiter.acquire('k');
  await assert.rejects(limiter.acquire('k'), /heavy requests running/);
  r2();
  r3();
  (await fourth)();
  // Other keys never wait for k's turns.
  (await limiter.acquire('other'))();
});

test('property: whatever the sequence of charges and waits, a key is refused exactly when in debt', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(3000), fc.nat(20_000)), { maxLength: 40 }), (steps) => {
      let now = 0;
      let model = options.burst;
      const limiter = new CostLimiter(options, () => now);
      for (const [units, wait] of steps) {
        now += wait;
        model = Math.min(options.burst, model + (wait / 1000) * options.ratePerSecond);
        limiter.charge('k', units);
        model -= units;
        const refused = limiter.retryAfterSeconds('k') > 0;
        assert.equal(refused, model < 0);
      }
    }),
  );
});

test('idle keys are forgotten, so memory stays bounded', () => {
  let now = 0;
  const limiter = new CostLimiter(options, () => now);
  for (let i = 0; i < 5000; i++) {
    limiter.charge(`key-${i}`, 10);
    now += 1000;
  }
  assert.ok(limiter.size < 2048, `${limiter.size} keys kept`);
});
