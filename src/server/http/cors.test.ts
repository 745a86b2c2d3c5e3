import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadServerConfig } from '../config.js';
import { startTestServer, type TestServer } from '../../testing/test-server.js';

const preflight = (origin: string) => ({
  method: 'OPTIONS' as const,
  url: '/api/sync/push',
  headers: {
    origin,
    'access-control-request-method': 'POST',
    'access-control-request-headers': 'x-api-key,content-type',
  },
});

describe('CORS (--cors-origins)', () => {
  let listed: TestServer;
  let none: TestServer;
  let any: TestServer;
  before(async () => {
    listed = await startTestServer('sqlite', {
      corsOrigins: 'http://localhost:5173, tauri://localhost',
    });
    none = await startTestServer('sqlite');
    any = await startTestServer('sqlite', { corsOrigins: '*' });
  });
  after(async () => {
    await Promise.all([listed.close(), none.close(), any.close()]);
  });

  test('the setting is a comma list, empty by default', () => {
    assert.deepEqual(loadServerConfig({}, {}).corsOrigins, []);
    assert.deepEqual(loadServerConfig({}, { PDV_SYNC_CORS_ORIGINS: ' a , b,' }).corsOrigins, [
      'a',
      'b',
    ]);
  });

  test('a listed origin passes the preflight without a token and reads answers, errors included', async () => {
    const ok = await listed.request(null, preflight('tauri://localhost'));
    assert.equal(ok.statusCode, 204);
    assert.equal(ok.headers['access-control-allow-origin'], 'tauri://localhost');
    assert.match(String(ok.headers['access-control-allow-headers']), /x-api-key/);
    assert.match(String(ok.headers['access-control-allow-headers']), /content-type/);
    assert.match(String(ok.headers['access-control-allow-headers']), /x-pdv-sync-protocol/);
    const token = await listed.device('loja-cors', 'caixa-cors');
    const session = await listed.request(token, {
      method: 'GET',
      url: '/api/session',
      headers: { origin: 'http://localhost:5173' },
    });
    assert.equal(session.statusCode, 200);
    assert.equal(session.headers['access-control-allow-origin'], 'http://localhost:5173');
    assert.match(String(session.headers['access-control-expose-headers']), /x-pdv-sync-protocol/);
    const refused = await listed.request('not-a-token', {
      method: 'GET',
      url: '/api/session',
      headers: { origin: 'http://localhost:5173' },
    });
    assert.equal(refused.statusCode, 401);
    assert.equal(refused.headers['access-control-allow-origin'], 'http://localhost:5173');
  });

  test('other origins, and every origin by default, get no CORS headers', async () => {
    const other = await listed.request(null, preflight('http://evil.example'));
    assert.equal(other.headers['access-control-allow-origin'], undefined);
    const byDefault = await none.request(null, preflight('http://localhost:5173'));
    assert.equal(byDefault.headers['access-control-allow-origin'], undefined);
    assert.notEqual(byDefault.statusCode, 204);
    const star = await any.request(null, preflight('http://anything.example'));
    assert.equal(star.headers['access-control-allow-origin'], '*');
  });
});
