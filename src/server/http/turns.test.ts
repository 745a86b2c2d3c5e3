import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import fc from 'fast-check';
import { Turns } from './turns.js';

const options = { maxInFlight: 2, maxQueued: 2, what: 'requests' };

test('maxInFlight run, maxQueued wait in arrival order, the rest are refused with RATE_LIMITED', async () => {
  const turns = new Turns(options);
  const r1 = await turns.acquire('k');
  const r2 = await turns.acquire('k');
  const order: string[] = [];
  const third = turns.acquire('k').then((r) => (order.push('third'), r));
  const fourth = turns.acquire('k').then((r) => (order.push('fourth'), r));
  await assert.rejects(turns.acquire('k'), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'RATE_LIMITED');
    assert.match(err.message, /2 requests running and 2 waiting/);
    return true;
  });
  // Another key never waits for k's turns.
  (await turns.acquire('other'))();
  r1();
  r2();
  (await third)();
  (await fourth)();
  assert.deepEqual(order, ['third', 'fourth']);
});

test('a released turn is given back on the next turn of the event loop, not at once', async () => {
  const turns = new Turns({ ...options, maxInFlight: 1 });
  const release = await turns.acquire('k');
  release();
  release(); // idempotent: a second call must not give back a second turn
  // Still taken in this turn of the event loop: a token whose requests each finish at once
  // cannot run its whole queue before anyone else's request is read.
  let granted = false;
  const next = turns.acquire('k').then((r) => ((granted = true), r));
  await Promise.resolve();
  assert.equal(granted, false);
  assert.equal(turns.inFlight('k'), 1);
  await nextTurn();
  (await next)();
  await nextTurn();
  assert.equal(turns.inFlight('k'), 0);
  assert.equal(turns.size, 0, 'an idle key is forgotten');
});

test('a wait abandoned by its client gives its place up, before or after its turn came', async () => {
  const turns = new Turns({ ...options, maxInFlight: 1 });
  const release = await turns.acquire('k');
  const gone = new AbortController();
  const waiting = turns.acquire('k', gone.signal);
  const after = turns.acquire('k');
  gone.abort();
  await assert.rejects(waiting, /went away/);
  release();
  (await after)();
  // The client leaves between the release and the hand-over: the turn goes to the next one.
  const r = await turns.acquire('k');
  const late = new AbortController();
  const lost = turns.acquire('k', late.signal);
  const kept = turns.acquire('k');
  r();
  late.abort();
  await assert.rejects(lost, /went away/);
  (await kept)();
  await nextTurn();
  assert.equal(turns.size, 0);
});

test('property: whatever the order of acquires and releases, no key exceeds its turns and every waiter is served or refused', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(fc.constantFrom('a', 'b'), fc.boolean()), { maxLength: 40 }),
      async (steps) => {
        const turns = new Turns(options);
        const held: (() => void)[] = [];
        const pending: Promise<unknown>[] = [];
        let running = { a: 0, b: 0 };
        let max = 0;
        for (const [key, release] of steps) {
          if (release && held.length > 0) held.shift()!();
          else
            pending.push(
              turns.acquire(key).then(
                (r) => {
                  running = { ...running, [key]: running[key] + 1 };
                  max = Math.max(max, running[key]);
                  held.push(() => {
                    running = { ...running, [key]: running[key] - 1 };
                    r();
                  });
                },
                () => undefined,
              ),
            );
          await nextTurn();
        }
        while (held.length > 0) {
          held.shift()!();
          await nextTurn();
        }
        await Promise.all(pending);
        while (held.length > 0) held.shift()!();
        await nextTurn();
        assert.ok(max <= options.maxInFlight, `${max} running at once`);
        assert.equal(turns.size, 0);
      },
    ),
    { numRuns: 100 },
  );
});
