import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { startTestServer, type TestServer } from '../../testing/test-server.js';

/**
 * Bring your own identity provider: a local JWKS server with keys this test generates stands
 * for the store's OIDC issuer; the server verifies tokens against it with jose.
 */
void describe('Authorization: Bearer <JWT> from the store’s identity provider', () => {
  let jwks: Server;
  let ts: TestServer;
  let key: CryptoKey;
  let otherKey: CryptoKey;
  let jwksFetches = 0;
  const issuer = 'https://idp.example.test';
  const audience = 'pdv-sync';

  before(async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    key = pair.privateKey;
    otherKey = (await generateKeyPair('RS256')).privateKey;
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    jwks = createServer((_req, res) => {
      jwksFetches++;
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    ts = await startTestServer('sqlite', {
      jwtJwksUrl: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`,
      jwtIssuer: issuer,
      jwtAudience: audience,
      jwtStoreClaim: 'loja',
      jwtStores: 'loja-1,loja-2,7',
    });
  });
  after(async () => {
    await ts.close();
    jwks.close();
  });

  const sign = (
    claims: Record<string, unknown>,
    opts: { key?: CryptoKey; exp?: string | number } = {},
  ) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setSubject(typeof claims['sub'] === 'string' ? claims['sub'] : 'caixa-01')
      .setIssuedAt()
      .setExpirationTime(opts.exp ?? '5m')
      .sign(opts.key ?? key);
  const bearer = (token: string, options: Parameters<TestServer['request']>[1]) =>
    ts.request(null, {
      ...options,
      headers: { authorization: `Bearer ${token}`, ...(options.headers ?? {}) },
    });

  void test('a token signed by the provider is accepted with the store its claims name', async () => {
    const token = await sign({ sub: 'caixa-01', loja: 'loja-1', role: 'pdv' });
    const push = await bearer(token, {
      method: 'POST',
      url: '/api/sync/push',
      payload: {
        machineId: 'caixa-01',
        mutations: [
          {
            eventId: 'jwt-1',
            table: 'despesas',
            op: 'upsert',
            record: { id: 'd-jwt-1', descricao: 'Gelo', valor: 10 },
          },
        ],
      },
    });
    assert.equal(push.statusCode, 200, push.body);
    assert.equal(push.json<{ results: { status: string }[] }>().results[0]?.status, 'applied');
    const read = await bearer(token, { method: 'GET', url: '/api/tables/despesas' });
    const rows = read.json<{ rows: { id: string; store_id: string }[] }>().rows;
    assert.deepEqual(
      rows.map((r) => [r.id, r.store_id]),
      [['d-jwt-1', 'loja-1']],
    );
    // The machine is the `sub` claim: another machineId in the body is refused.
    const other = await bearer(token, {
      method: 'POST',
      url: '/api/sync/push',
      payload: { machineId: 'caixa-02', mutations: [] },
    });
    assert.equal(other.statusCode, 403, other.body);
    assert.equal(other.json<{ code: string }>().code, 'MACHINE_MISMATCH');
    // Device rights only.
    const admin = await bearer(token, { method: 'GET', url: '/api/admin/devices' });
    assert.equal(admin.statusCode, 403);
    // Numeric store claims read as their text.
    const numeric = await sign({ sub: 'caixa-03', loja: 7 });
    assert.equal((await bearer(numeric, { method: 'GET', url: '/api/products' })).statusCode, 200);
  });

  void test('refused: expired, signed by another key, another issuer, or a store the mapping does not allow', async () => {
    const expired = await sign({ loja: 'loja-1' }, { exp: Math.floor(Date.now() / 1000) - 60 });
    const forged = await sign({ loja: 'loja-1' }, { key: otherKey });
    for (const [what, token] of [
      ['expired', expired],
      ['another key', forged],
      ['not a JWT', 'garbage.token.value'],
    ] as const) {
      const res = await bearer(token, { method: 'GET', url: '/api/products' });
      assert.equal(res.statusCode, 401, `${what}: ${res.body}`);
      assert.equal(res.json<{ code: string }>().code, 'UNAUTHORIZED');
    }
    const foreignIssuer = await new SignJWT({ loja: 'loja-1' })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer('https://evil.example')
      .setAudience(audience)
      .setSubject('caixa-01')
      .setExpirationTime('5m')
      .sign(key);
    assert.equal(
      (await bearer(foreignIssuer, { method: 'GET', url: '/api/products' })).statusCode,
      401,
    );
    const notAllowed = await sign({ sub: 'caixa-09', loja: 'loja-9' });
    const res = await bearer(notAllowed, { method: 'GET', url: '/api/products' });
    assert.equal(res.statusCode, 403, res.body);
    assert.equal(res.json<{ code: string }>().code, 'FORBIDDEN');
    const noStore = await sign({ sub: 'caixa-09' });
    assert.equal((await bearer(noStore, { method: 'GET', url: '/api/products' })).statusCode, 403);
    // No credential at all stays refused.
    assert.equal((await ts.request(null, { method: 'GET', url: '/api/products' })).statusCode, 401);
    assert.ok(jwksFetches >= 1);
  });
});
