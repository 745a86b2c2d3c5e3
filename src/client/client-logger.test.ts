import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  leakyKey as sharedKey,
  leakyToken as token,
  logSecretsEverywhere as logEverywhere,
  written,
} from '../testing/log-files.js';
import { createClientLogger } from './client-logger.js';

test("the till's log never holds its token, whatever message or error carries it", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pdv-client-log-'));
  try {
    const log = createClientLogger(join(dir, 'pdv_sync.log'), 'debug', [sharedKey, token]);
    logEverywhere(log, 'marker-client');
    const text = await written(dir, 'marker-client');
    for (const secret of [token, sharedKey, encodeURIComponent(sharedKey)])
      assert.ok(!text.includes(secret), text);
    assert.ok(text.includes('[redacted]'));
    assert.ok(text.includes('request failed'), 'the lines themselves are kept');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
