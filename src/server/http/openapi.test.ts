import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Fastify from 'fastify';
import { httpRoutes, protocolVersion, socketRoutes } from '../../protocol/index.js';
import { adminToken, startTestServer, type TestServer } from '../../testing/test-server.js';
import type { RouteInfo } from '../app.js';
import { registerOpenApiConformanceTests, templateOf } from './openapi-conformance.js';
import { docsPath, openApiPath, registerContract } from './openapi.js';

type Json = Record<string, unknown>;
type Operation = {
  operationId: string;
  parameters?: { in: string; name: string }[];
  requestBody?: { content: Record<string, { schema?: Json }> };
  responses: Record<string, { content?: Record<string, { schema?: Json }> }>;
  security: Record<string, string[]>[];
};

/** Routes that take no input at all, though their method could carry a body. */
const bodyless = new Set(['POST /api/console/ticket']);

void describe('the OpenAPI document', () => {
  let ts: TestServer;
  let doc: { openapi: string; info: Json; paths: Record<string, Record<string, Operation>> } & Json;
  let routes: RouteInfo[];

  before(async () => {
    ts = await startTestServer('sqlite');
    routes = ts.server.routes;
    const res = await ts.request(null, { method: 'GET', url: openApiPath });
    assert.equal(res.statusCode, 200, res.body);
    doc = res.json();
  });
  after(() => ts.close());

  /** The routes of the API: the documentation page's own files are not part of it. */
  const apiRoutes = () =>
    routes.filter((r) => r.url !== docsPath && !r.url.startsWith(`${docsPath}/`));

  test('is OpenAPI 3.1, served without a token, with the credentials the server accepts', () => {
    assert.equal(doc.openapi, '3.1.0');
    assert.equal(doc.info['version'], String(protocolVersion));
    const schemes = (doc['components'] as { securitySchemes: Record<string, Json> })
      .securitySchemes;
    assert.deepEqual(schemes['apiKey'], { ...schemes['apiKey'], in: 'header', name: 'x-api-key' });
    assert.equal(schemes['bearerToken']?.['scheme'], 'bearer');
    assert.equal(schemes['jwt']?.['bearerFormat'], 'JWT');
  });

  test('the docs index redirects to the page, also with a query string (no redirect loop)', async () => {
    for (const url of [`${docsPath}/static/index.html`, `${docsPath}/static/index.html?token=x`]) {
      const res = await ts.request(null, { method: 'GET', url });
      assert.equal(res.statusCode, 302, url);
      assert.equal(res.headers['location'], `${docsPath}/`, url);
    }
  });

  test('every registered route appears with its method, inputs, success answer and credentials', () => {
    const operationIds = new Set<string>();
    for (const route of apiRoutes()) {
      const key = `${route.method} ${route.url}`;
      const template = templateOf(route.url);
      const op = doc.paths[template]?.[route.method.toLowerCase()];
      assert.ok(op, `${key} is not in the document`);
      assert.ok(!operationIds.has(op.operationId), `${key}: operationId ${op.operationId} twice`);
      operationIds.add(op.operationId);
      const parameters = op.parameters ?? [];
      for (const [, name] of template.matchAll(/\{([^}]+)\}/g))
        assert.ok(
          parameters.some((p) => p.in === 'path' && p.name === name),
          `${key}: path parameter ${name} undocumented`,
        );
      const contract = httpRoutes[key];
      if (contract?.querystring)
        assert.ok(
          parameters.some((p) => p.in === 'query'),
          `${key}: query parameters undocumented`,
        );
      if (['POST', 'PUT', 'PATCH'].includes(route.method) && !bodyless.has(key))
        assert.ok(op.requestBody?.content['application/json']?.schema, `${key}: no request body`);
      const success = Object.entries(op.responses).filter(([s]) => /^[23]\d\d$/.test(s));
      assert.ok(success.length > 0, `${key}: no success answer`);
      for (const [status, answer] of success)
        if (status.startsWith('2'))
          assert.ok(
            Object.values(answer.content ?? {}).some((media) => media.schema),
            `${key}: answer ${status} has no schema`,
          );
      // The credentials match the route's auth config (routes-auth.test.ts checks the server).
      const roles = route.public
        ? null
        : route.admin
          ? ['admin', ...(route.manager ? ['manager'] : [])]
          : [];
      if (roles === null) assert.deepEqual(op.security, [], key);
      else
        for (const requirement of op.security)
          for (const granted of Object.values(requirement))
            assert.deepEqual(
              granted.filter((r) => r !== 'metrics'),
              roles,
              key,
            );
    }
  });

  test('the document holds nothing the server does not answer, and the WebSocket endpoints', () => {
    const registered = new Set(apiRoutes().map((r) => `${r.method} ${templateOf(r.url)}`));
    const sockets = Object.keys(socketRoutes).map((path) => `GET ${path}`);
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    assert.deepEqual(
      documented.filter((op) => !registered.has(op) && !sockets.includes(op)),
      [],
    );
    for (const op of sockets) assert.ok(documented.includes(op), `${op} is not documented`);
  });

  test('the interactive page is served from this server (no CDN), without a token', async () => {
    const page = await ts.request(null, { method: 'GET', url: `${docsPath}/` });
    assert.equal(page.statusCode, 200, page.body);
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? '');
    assert.ok(
      assets.some((a) => a.endsWith('swagger-ui-bundle.js')),
      page.body,
    );
    for (const asset of assets) {
      assert.doesNotMatch(asset, /^(https?:)?\/\//, 'an asset from elsewhere');
      const res = await ts.request(null, {
        method: 'GET',
        url: new URL(asset, `http://x${docsPath}/`).pathname,
      });
      assert.equal(res.statusCode, 200, asset);
    }
    // The page loads the same document.
    const json = await ts.request(null, { method: 'GET', url: `${docsPath}/json` });
    assert.deepEqual(json.json(), doc);
    // A token changes nothing: the document is the same for everyone.
    const asAdmin = await ts.request(adminToken, { method: 'GET', url: openApiPath });
    assert.deepEqual(asAdmin.json(), doc);
  });
});

void describe('route contracts are documentation only', () => {
  test('a route without a contract does not register', async () => {
    const app = Fastify();
    await registerContract(app);
    assert.throws(
      () => app.get('/api/nowhere', async () => ({})),
      /GET \/api\/nowhere has no contract/,
    );
    await app.close();
  });

  test('Fastify neither refuses input nor drops answer fields the contract does not describe', async () => {
    const app = Fastify();
    await registerContract(app);
    // A documented route whose handler echoes what it got, beyond its schemas.
    app.post('/api/sync/push', async (request) => ({ results: [], echo: request.body }));
    const res = await app.inject({
      method: 'POST',
      url: '/api/sync/push',
      payload: { machineId: 42, nonsense: true },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { results: [], echo: { machineId: 42, nonsense: true } });
    await app.close();
  });
});

registerOpenApiConformanceTests('sqlite');
