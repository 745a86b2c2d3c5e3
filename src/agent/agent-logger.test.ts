import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  leakyKey as sharedKey,
  leakyPassword as password,
  leakyToken as token,
  logSecretsEverywhere as logEverywhere,
  written,
} from '../testing/log-files.js';
import { createAgentLogger } from './agent-logger.js';

test("the agent's log never holds its token or its database password", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pdv-agent-log-'));
  try {
    const log = createAgentLogger({
      level: 'debug',
      logDir: dir,
      stdout: false,
      secrets: [sharedKey, password],
    });
    logEverywhere(log, 'marker-agent');
    const text = await written(dir, 'marker-agent');
    for (const secret of [token, sharedKey, password, encodeURIComponent(password)])
      assert.ok(!text.includes(secret), text);
    assert.ok(text.includes('mssql://sa:[redacted]@host/db'), text);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
