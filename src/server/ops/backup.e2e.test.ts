import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { cliPath } from '../../testing/server-process.js';
import { startTestServer } from '../../testing/test-server.js';
import { openStorage } from '../storage/index.js';
import { readEpoch } from './epoch.js';

const dir = mkdtempSync(join(tmpdir(), 'pdv-backup-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [cliPath, ...args], {
    env: { PATH: process.env['PATH'], PDV_SYNC_LANG: 'en', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });

for (const engine of ['sqlite', 'postgres'] as const)
  test(`a damaged backup, or a target a server still uses, is refused before the target is touched; restore into an empty target needs no --force (${engine})`, async () => {
    const ts = await startTestServer(engine);
    const target =
      engine === 'sqlite' ? { url: `sqlite:${join(dir, `${engine}-target.db`)}` } : null;
    try {
      const dbArgs = [
        '--db',
        ts.db.url,
        ...(ts.db.pgSchema ? ['--pg-schema', ts.db.pgSchema] : []),
      ];
      const file = join(dir, `${engine}.backup`);
      const backup = cli(['backup', '--out', file, ...dbArgs]);
      assert.equal(backup.status, 0, backup.stderr);
      const damaged = join(dir, `${engine}-damaged.backup`);
      writeFileSync(damaged, readFileSync(file));
      truncateSync(damaged, Math.floor(statSync(damaged).size * 0.6));
      const r = cli(['restore', damaged, '--force', ...dbArgs]);
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /BACKUP_INVALID/);
      // A good backup is refused too while the server uses the target, even with --force.
      const busy = cli(['restore', file, '--force', ...dbArgs]);
      assert.equal(busy.status, 1, busy.stdout + busy.stderr);
      assert.match(
        busy.stderr,
        /RESTORE_REFUSED.*(open in another process|server is connected).*stop it/,
      );
      // The live database is untouched: same epoch, not restored.
      const storage = openStorage(ts.db.url, ts.db.pgSchema ? { pgSchema: ts.db.pgSchema } : {});
      try {
        const epoch = await storage.read((tx) => readEpoch(tx));
        assert.deepEqual(epoch, { databaseId: ts.server.ctx.meta.databaseId, restoredFrom: null });
      } finally {
        await storage.close();
      }
      if (target) {
        const ok = cli(['restore', file, '--db', target.url]);
        assert.equal(ok.status, 0, ok.stderr);
        const restored = openStorage(target.url);
        try {
          const epoch = await restored.read((tx) => readEpoch(tx));
          assert.notEqual(epoch?.databaseId, ts.server.ctx.meta.databaseId);
          assert.equal(epoch?.restoredFrom?.databaseId, ts.server.ctx.meta.databaseId);
        } finally {
          await restored.close();
        }
      }
    } finally {
      await ts.close();
    }
  });

test('PostgreSQL backup without pg_dump says what to install', async () => {
  const ts = await startTestServer('postgres');
  try {
    const r = cli(
      ['backup', '--out', join(dir, 'x.backup'), '--db', ts.db.url, '--pg-schema', ts.db.pgSchema!],
      {
        PDV_SYNC_PG_DUMP: join(dir, 'no-such-pg_dump'),
      },
    );
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /BACKUP_FAILED.*pg_dump was not found: install the PostgreSQL client tools/,
    );
  } finally {
    await ts.close();
  }
});
