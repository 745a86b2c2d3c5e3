import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { errorBodySchema, errorCatalogue, protocolVersion } from '../protocol/index.js';
import type { RouteInfo } from '../server/index.js';
import { adminToken, startTestServer, type DialectName, type TestServer } from './test-server.js';
import { checkingContract } from './contract-check.js';

/** Routes whose bodies are validated per item by their handlers (see http/text-guard.ts). */
const perItem = new Set([
  'POST /api/sync/push',
  'POST /api/sync/:table',
  'POST /api/sync',
  'PUT /api/tables/:table/:id',
  'PATCH /api/tables/:table/:id',
  'POST /api/ingest/v4',
]);

const lone = ['\ud800', '\udfff', 'a\udc00b', '\u0000', 'x\u0000', '\ud83d'];

/** Percent-encodings a router or query parser may choke on. */
const badEscapes = ['%', '%zz', '%E0%A4', '%ED%A0%80', '%C0%AF', 'a%2', '%FF', '%00', '%u0041'];

const contentTypes = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  'application/json;;;',
  'garbage/',
];

function paramValue(name: string, machineId: string): string {
  if (name === 'table') return 'produtos';
  // Never the suite's own device: DELETE /api/admin/devices/:machineId would revoke it.
  if (name === 'machineId') return `${machineId}-other`;
  return 'row-edge-1';
}

function concrete(route: RouteInfo, machineId: string): string {
  return route.url.replace(/:(\w+)/g, (_m, name: string) => paramValue(name, machineId));
}

/** Injects a NUL or lone surrogate somewhere inside a JSON value (a key or a string). */
function poison(value: unknown, bad: string, where: number): unknown {
  if (typeof value === 'string') return `${value}${bad}`;
  if (Array.isArray(value)) {
    const items = value as unknown[];
    return items.length === 0
      ? [bad]
      : items.map((v, i) => (i === where % items.length ? poison(v, bad, where) : v));
  }
  if (value !== null && typeof value === 'object') {
    const entries: [string, unknown][] = Object.entries(value);
    if (entries.length === 0 || where % 3 === 0) return { ...value, [`k${bad}`]: 1 };
    const [k, v] = entries[where % entries.length];
    return { ...value, [k]: poison(v, bad, where + 1) };
  }
  return { value, text: bad };
}

const badText = (s: string) =>
  s.includes('\u0000') ||
  /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);

/** Does a parsed JSON value hold a NUL or lone surrogate in any string or key? */
function hasBad(v: unknown): boolean {
  if (typeof v === 'string') return badText(v);
  if (Array.isArray(v)) return v.some(hasBad);
  if (v !== null && typeof v === 'object')
    return Object.entries(v).some(([k, c]) => badText(k) || hasBad(c));
  return false;
}

/**
 * The HTTP edge against hostile input, on one engine: every registered route gets
 * malformed query strings, headers and bodies (fast-check), and answers either a
 * success or an error from the catalogue with the catalogue's status — never a 5xx.
 * Where the generic check applies, a NUL or lone surrogate is exactly a 400.
 */
export function badInputSuite(dialect: DialectName): void {
  void describe(`bad input at the HTTP edge (${dialect})`, () => {
    let ts: TestServer;
    let device: string;
    let routes: RouteInfo[];
    const machineId = 'edge-till-1';

    before(async () => {
      ts = checkingContract(await startTestServer(dialect, { rateLimit: 1_000_000_000 }));
      device = await ts.device('edge-store', machineId);
      routes = ts.server.routes;
    });
    after(() => ts.close());

    const tokenFor = (route: RouteInfo) => (route.admin ? adminToken : device);

    function checkAnswer(res: LightMyRequestResponse, context: string): string | undefined {
      assert.ok(res.statusCode < 500, `${context} -> ${res.statusCode} ${res.body.slice(0, 300)}`);
      assert.equal(res.headers['x-pdv-sync-protocol'], String(protocolVersion), context);
      if (res.statusCode < 400) return undefined;
      let body: unknown;
      try {
        body = JSON.parse(res.body);
      } catch {
        assert.fail(`${context}: error body is not JSON: ${res.body.slice(0, 200)}`);
      }
      const parsed = errorBodySchema.safeParse(body);
      assert.ok(parsed.success, `${context}: not a catalogue error: ${res.body.slice(0, 300)}`);
      assert.equal(errorCatalogue[parsed.data.code].status, res.statusCode, context);
      return parsed.data.code;
    }

    test('every route: a bad percent-encoding in the path or query, a NUL in the query', async () => {
      for (const route of routes) {
        const base = concrete(route, machineId);
        const token = route.public ? null : tokenFor(route);
        for (const url of [
          `${base}${route.url.endsWith(':id') || route.url.endsWith(':machineId') ? '%zz' : '/%E0%A4'}`,
          `${base}?limit=%zz&cursor=%ED%A0%80`,
          `${base}?status=a%00b`,
        ]) {
          const res = await ts.request(token, { method: route.method, url });
          const code = checkAnswer(res, `${route.method} ${url}`);
          if (url.includes('%00') && !route.public) {
            assert.equal(res.statusCode, 400, `${route.method} ${url}: ${res.body}`);
            assert.equal(code, 'VALIDATION_FAILED');
          }
        }
        const bad = await ts.request(token, { method: route.method, url: `${base}%` });
        checkAnswer(bad, `${route.method} ${base}%`);
      }
    });

    test('every route with a body: NUL and lone surrogates, in values and keys', async () => {
      for (const route of routes.filter((r) => ['POST', 'PUT', 'PATCH'].includes(r.method))) {
        const key = `${route.method} ${route.url}`;
        for (const b of lone)
          for (const payload of [
            { machineId: `m${b}` },
            { machineId, storeId: 'edge-store', [`x${b}`]: 1 },
            { machineId, mutations: [], localUpdates: [], nested: { deep: [1, `v${b}`] } },
          ]) {
            const res = await ts.request(tokenFor(route), {
              method: route.method,
              url: concrete(route, machineId),
              headers: { 'content-type': 'application/json' },
              payload: JSON.stringify(payload),
            });
            const code = checkAnswer(res, `${key} ${JSON.stringify(payload)}`);
            if (!perItem.has(key)) {
              assert.equal(res.statusCode, 400, `${key}: ${res.body}`);
              assert.equal(code, 'VALIDATION_FAILED', key);
            }
          }
      }
    });

    test('property: malformed query strings, headers and bodies on every route', async () => {
      const queryPart = fc.oneof(
        fc.constantFrom(...badEscapes),
        fc.string({ unit: 'binary', maxLength: 20 }).map(encodeURIComponent),
        fc.constantFrom('9'.repeat(400), '-1', '1e309', 'NaN', '', '[]', '{}', '0x10', ' '),
      );
      const query = fc.array(
        fc.tuple(
          fc.constantFrom(
            'limit',
            'cursor',
            'status',
            'since',
            'tables',
            'table',
            'token',
            'start_date',
            'end_date',
            'machineId',
            'x%zz',
            'a[b]',
          ),
          queryPart,
        ),
        { maxLength: 4 },
      );
      const body = fc.oneof(
        fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
        fc
          .tuple(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom(...lone), fc.nat())
          .map(([v, b, w]) => JSON.stringify(poison(v, b, w))),
        fc
          .tuple(fc.constantFrom(...lone), fc.nat())
          .map(([b, w]) =>
            JSON.stringify(
              poison({ machineId, mutations: [], localUpdates: [], storeId: 'edge-store' }, b, w),
            ),
          ),
        fc.string({ unit: 'binary', maxLength: 60 }),
        fc.constantFrom('', '{', '{"a":', 'null', '"\\ud800"', '{"a":"\\u0000"}', '['.repeat(5000)),
      );
      const headers = fc.record(
        {
          'content-type': fc.constantFrom(...contentTypes),
          'content-encoding': fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x-bogus'),
          'accept-encoding': fc.constantFrom('gzip', '*;q=0', 'br;q=2', 'bogus'),
          'if-none-match': fc.string({ unit: 'grapheme-ascii', maxLength: 30 }),
        },
        { requiredKeys: ['content-type'] },
      );
      await fc.assert(
        fc.asyncProperty(
          fc.nat(),
          query,
          headers,
          body,
          fc.boolean(),
          async (which, q, h, payload, goodToken) => {
            const route = routes[which % routes.length];
            const key = `${route.method} ${route.url}`;
            const qs = q.map(([k, v]) => `${k}=${v}`).join('&');
            const url = `${concrete(route, machineId)}${qs ? `?${qs}` : ''}`;
            const withBody = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(route.method);
            const res = await ts.request(goodToken && !route.public ? tokenFor(route) : null, {
              method: route.method,
              url,
              headers: h,
              ...(withBody ? { payload } : {}),
            });
            const context = `${key} ${url} ${JSON.stringify(h)} ${JSON.stringify(payload).slice(0, 200)}`;
            const code = checkAnswer(res, context);
            // Where the generic check decides: authenticated, plain JSON, parseable, a bad string inside.
            let parsed: unknown;
            try {
              parsed = JSON.parse(payload);
            } catch {
              parsed = undefined;
            }
            const decided =
              goodToken &&
              !route.public &&
              ['POST', 'PUT', 'PATCH'].includes(route.method) &&
              !perItem.has(key) &&
              h['content-type'].startsWith('application/json') &&
              !h['content-type'].includes('latin1') &&
              h['content-type'] !== 'application/json;;;' &&
              (h['content-encoding'] === undefined || h['content-encoding'] === 'identity') &&
              parsed !== undefined &&
              parsed !== null &&
              !/%(?![0-9A-Fa-f]{2})/.test(url) &&
              hasBad(parsed);
            if (decided) {
              assert.equal(res.statusCode, 400, context);
              assert.equal(code, 'VALIDATION_FAILED', context);
            }
          },
        ),
        { numRuns: Number(process.env.PDV_SYNC_FUZZ_RUNS ?? 300) },
      );
      const health = await ts.request(null, { method: 'GET', url: '/health' });
      assert.equal(health.statusCode, 200);
    });
  });
}
