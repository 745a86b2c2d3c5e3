// The victim till of bench/fairness.mjs, run in a worker thread: push one sale, pull its
// changes, again and again, timing each request.
import { setTimeout as sleep } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { makeSale, performance, request, saleRows, terminalAgent, uuidv7 } from './lib.mjs';

/** The victim till: push one sale, pull its changes, again and again; latencies per request. */
async function till({ url, victim, stopAfterMs }) {
  const stopAt = performance.now() + stopAfterMs;
  const agent = terminalAgent();
  const terminal = { index: 1, storeId: 'store-b', machineId: 'b-till' };
  const latencies = [];
  const statuses = new Map();
  let cursor = '';
  let n = 0;
  while (performance.now() < stopAt) {
    const sale = makeSale(terminal, n++);
    const mutations = saleRows(sale).map(([table, record]) => ({
      eventId: uuidv7(),
      table,
      op: 'upsert',
      record,
    }));
    let t0 = performance.now();
    const push = await request(agent, 'POST', `${url}/api/sync/push`, {
      headers: { 'x-api-key': victim, 'content-type': 'application/json' },
      body: JSON.stringify({ machineId: 'b-till', mutations }),
    });
    latencies.push(performance.now() - t0);
    statuses.set(push.status, (statuses.get(push.status) ?? 0) + 1);
    t0 = performance.now();
    const pull = await request(
      agent,
      'GET',
      `${url}/api/sync/changes?limit=1000${cursor ? `&since=${encodeURIComponent(cursor)}` : ''}`,
      { headers: { 'x-api-key': victim, 'accept-encoding': 'gzip' } },
    );
    latencies.push(performance.now() - t0);
    statuses.set(pull.status, (statuses.get(pull.status) ?? 0) + 1);
    if (pull.status === 200) cursor = JSON.parse(pull.text).cursor;
    await sleep(20);
  }
  agent.destroy();
  return { latencies, statuses };
}

parentPort.postMessage(await till(workerData));
