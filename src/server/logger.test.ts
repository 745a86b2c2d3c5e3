import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { maskSecrets, maskTokenInUrl, rollOptionsFor } from './logger.js';

const secret = fc.stringMatching(/^[A-Za-z0-9_\-.~+/=]{16,60}$/).map((s) => `Q7${s}`);
const names = ['token', 'TOKEN', 'to%6Ben', '%74oken', 'access_token', 'api_key', 'x-api-key'];

test('a credential in any query parameter named like one is masked, whatever the encoding of its name', () => {
  fc.assert(
    fc.property(
      secret,
      fc.constantFrom(...names),
      fc.array(fc.stringMatching(/^[a-z]{1,6}=[a-z0-9]{0,8}$/), { maxLength: 3 }),
      fc.constantFrom('/api/sync/changes', '/ws', '/ws/pedidos', '/x/%zz'),
      (s, name, others, path) => {
        const url = `${path}?${[...others, `${name}=${encodeURIComponent(s)}`, ...others].join('&')}`;
        const masked = maskTokenInUrl(url);
        assert.ok(!masked.includes(encodeURIComponent(s)), masked);
        assert.ok(!masked.includes(s), masked);
        assert.ok(masked.startsWith(path), masked);
        for (const o of others) assert.ok(masked.includes(o), `${o} lost: ${masked}`);
      },
    ),
  );
});

test('our token shapes, JWTs, Bearer values, credential JSON members and known secrets are masked in any text', () => {
  fc.assert(
    fc.property(
      fc.stringMatching(/^[A-Za-z0-9_-]{20,43}$/),
      fc.constantFrom('pdvs_dev_', 'pdvs_adm_'),
      (rand, prefix) => {
        const token = `${prefix}${rand}`;
        for (const text of [
          `unknown token ${token} refused`,
          JSON.stringify({ msg: 'x', body: { token: rand, apiKey: rand } }),
          `Authorization: Bearer ${rand}`,
          `Unexpected token in JSON: "{\\"token\\": \\"${rand}"`,
        ])
          assert.ok(!maskSecrets(text).includes(rand), maskSecrets(text));
      },
    ),
  );
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0aWxsIn0.c2lnbmF0dXJlLXZhbHVl';
  assert.equal(maskSecrets(`got ${jwt}`), 'got [redacted]');
  const admin = 'my "quoted" admin token 123';
  const line = JSON.stringify({ msg: `bad ${admin}` });
  assert.ok(!maskSecrets(line, [admin]).includes('quoted'));
  // Ordinary text is left alone.
  assert.equal(maskSecrets('GET /api/schema 200 3ms'), 'GET /api/schema 200 3ms');
});

test('the rotating log keeps the documented name and extension', () => {
  assert.deepEqual(rollOptionsFor('./logs/pdv-sync-server.log'), {
    file: 'logs/pdv-sync-server',
    extension: '.log',
  });
  assert.deepEqual(rollOptionsFor('/var/log/pdv'), { file: '/var/log/pdv', extension: '.log' });
});
