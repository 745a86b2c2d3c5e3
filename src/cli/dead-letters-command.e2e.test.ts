import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { LocalStore } from '../client/index.js';

const cli = fileURLToPath(new URL('./main.js', import.meta.url));

test('pdv-sync dead-letters lists, retries and discards the till dead letters', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pdv-sync-dl-'));
  const db = join(dir, 'pdv.db');
  try {
    const s = new LocalStore(db);
    const insert = s.db.prepare(
      `INSERT INTO _pdv_dead_letters (event_id, table_name, row_id, op, record, reason_code, reason_message, created_at)
       VALUES (?, 'vendas', ?, 'upsert', '{}', 'RECORD_INVALID', 'vendas.total: obrigatório', ?)`,
    );
    insert.run('e1', 'v1', new Date().toISOString());
    insert.run('e2', 'v2', new Date().toISOString());
    s.close();
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [cli, 'dead-letters', ...args, '--db', db], {
        encoding: 'utf8',
        env: { ...process.env, PDV_SYNC_LANG: 'en' },
      });
    const list = run('list');
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /#1 vendas v1 \[RECORD_INVALID\] vendas\.total/);
    assert.equal(run('retry').status, 2, 'no ids and no --all is refused');
    assert.match(run('retry', '1').stdout, /1 record\(s\) moved back/);
    assert.match(run('discard', '--all').stdout, /1 record\(s\) discarded/);
    const after = new LocalStore(db);
    assert.equal(after.counts().deadLetters, 0);
    assert.equal(after.outboxBatch(10).length, 1);
    assert.notEqual(after.outboxBatch(10)[0].event_id, 'e1', 'a retry is a new event');
    after.close();
    const missing = spawnSync(
      process.execPath,
      [cli, 'dead-letters', 'list', '--db', join(dir, 'nope.db')],
      { encoding: 'utf8' },
    );
    assert.equal(missing.status, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
