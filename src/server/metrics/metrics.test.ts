import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { checksStoreId } from '../../protocol/reserved-stores.js';
import { adminToken, startTestServer, type TestServer } from '../../testing/test-server.js';

const metricsToken = 'scraper-secret-0123456789abcdef';

/** The value of one sample line (`name{labels} value`), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

void describe('GET /metrics and the probes', () => {
  let ts: TestServer;
  let device: string;

  before(async () => {
    ts = await startTestServer('sqlite', { metricsToken, offlineAfterSeconds: 60 });
    device = await ts.device('store-m', 'till-m1');
    const checks = await ts.device(checksStoreId, 'checks-till');
    for (const [token, machineId, state] of [
      [device, 'till-m1', 'diverged'],
      [checks, 'checks-till', 'error'],
    ] as const) {
      const res = await ts.request(token, {
        method: 'POST',
        url: '/api/sync/status',
        payload: {
          machineId,
          state,
          backlog: 7,
          deadLetters: 2,
          conflicts: 0,
          lastSuccessAt: null,
          lastError: null,
          outboxBacklog: 7,
          oldestUnsentAt: new Date(Date.now() - 90_000).toISOString(),
        },
      });
      assert.equal(res.statusCode, 200, res.body);
    }
    const push = await ts.request(device, {
      method: 'POST',
      url: '/api/sync/push',
      payload: { machineId: 'till-m1', mutations: [] },
    });
    assert.equal(push.statusCode, 200, push.body);
    const pull = await ts.request(device, { method: 'GET', url: '/api/sync/changes' });
    assert.equal(pull.statusCode, 200, pull.body);
  });
  after(() => ts.close());

  void test('Prometheus text with stable pdvsync_ names; the checks store is not counted', async () => {
    const res = await ts.request(adminToken, { method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200, res.body);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const text = res.body;
    assert.equal(sample(text, 'pdvsync_terminals{state="diverged"}'), 1);
    // The checks store's terminal reported "error": it would be the one offline.
    assert.equal(sample(text, 'pdvsync_terminals{state="offline"}'), 0);
    assert.equal(sample(text, 'pdvsync_dead_letters'), 2);
    assert.equal(sample(text, 'pdvsync_outbox_backlog'), 7);
    const age = sample(text, 'pdvsync_oldest_unsent_age_seconds') ?? 0;
    assert.ok(age >= 89 && age < 200, `oldest unsent age ${age}`);
    assert.equal(sample(text, 'pdvsync_push_requests_total{status="2xx"}'), 1);
    assert.equal(sample(text, 'pdvsync_pull_requests_total{status="2xx"}'), 1);
    assert.equal(sample(text, 'pdvsync_push_duration_seconds_count'), 1);
    assert.equal(sample(text, 'pdvsync_pull_duration_seconds_count'), 1);
    assert.equal(sample(text, 'pdvsync_live_connections'), 0);
    assert.equal(sample(text, 'pdvsync_conflicts'), 0);
    assert.equal(sample(text, 'pdvsync_reconcile_mismatches'), 0);
    for (const name of [
      'pdvsync_change_log_visibility_lag_seconds',
      'pdvsync_agent_windows_behind',
      'pdvsync_agent_lag_seconds',
    ])
      assert.match(text, new RegExp(`# TYPE ${name} gauge`));
  });

  void test('the visibility-lag hook sets its gauge', async () => {
    ts.server.ctx.metrics.setChangeLogVisibilityLag(0.25);
    const res = await ts.request(metricsToken, { method: 'GET', url: '/metrics' });
    assert.equal(sample(res.body, 'pdvsync_change_log_visibility_lag_seconds'), 0.25);
  });

  void test('the metrics token opens /metrics and nothing else; a device token is refused', async () => {
    const ok = await ts.request(metricsToken, { method: 'GET', url: '/metrics' });
    assert.equal(ok.statusCode, 200);
    const other = await ts.request(metricsToken, { method: 'GET', url: '/api/schema' });
    assert.equal(other.statusCode, 401);
    const byDevice = await ts.request(device, { method: 'GET', url: '/metrics' });
    assert.equal(byDevice.statusCode, 403);
  });

  void test('/health/live and /health/ready answer without a token', async () => {
    const live = await ts.request(null, { method: 'GET', url: '/health/live' });
    assert.equal(live.statusCode, 200);
    const ready = await ts.request(null, { method: 'GET', url: '/health/ready' });
    assert.equal(ready.statusCode, 200, ready.body);
    assert.equal(ready.json<{ migrations: string }>().migrations, 'done');
  });
});

void test('/health/ready is 503 once the database is gone', async () => {
  const ts = await startTestServer('sqlite');
  await ts.server.ctx.storage.close();
  const res = await ts.request(null, { method: 'GET', url: '/health/ready' });
  assert.equal(res.statusCode, 503, res.body);
  const live = await ts.request(null, { method: 'GET', url: '/health/live' });
  assert.equal(live.statusCode, 200);
  await ts.server.app.close();
  await ts.db.drop();
});
