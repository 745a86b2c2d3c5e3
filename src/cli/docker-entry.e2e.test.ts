import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { postgresTestDatabase } from '../testing/test-database.js';

// No Docker engine runs here: the image's own ENV, entry command and health check are
// read from the Dockerfile and run directly, against the real PostgreSQL.
const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'pdv-sync-docker-'));
const procs: ReturnType<typeof spawn>[] = [];
after(() => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const jsonInstruction = (name: string): string[] => {
  const line = dockerfile.split('\n').find((l) => l.startsWith(`${name} `));
  const m = line ? /(\[.*\])\s*$/.exec(line) : null;
  assert.ok(m?.[1], `${name} in the Dockerfile`);
  return JSON.parse(m[1]) as string[];
};

test("the image's entry command serves PostgreSQL with the admin token from a secret file, and its health check passes", async () => {
  const db = await postgresTestDatabase();
  try {
    // The final stage's ENV, with the volume moved to a temporary folder.
    const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], PDV_SYNC_LANG: 'en' };
    for (const m of finalStage.matchAll(/^ENV (\w+)=(\S+)$/gm))
      env[m[1]] = m[2].replace('/var/lib/pdv-sync', dir);
    assert.equal(env['PDV_SYNC_PORT'], '3001');
    const secret = join(dir, 'admin_token.txt');
    writeFileSync(secret, 'docker-secret-admin-token-0123456789\n');
    Object.assign(env, {
      PDV_SYNC_DB: db.url,
      PDV_SYNC_PG_SCHEMA: db.pgSchema,
      PDV_SYNC_ADMIN_TOKEN_FILE: secret,
      PDV_SYNC_PORT: '0',
      PDV_SYNC_HOST: '127.0.0.1',
    });
    const entry = [...jsonInstruction('ENTRYPOINT'), ...jsonInstruction('CMD')];
    assert.deepEqual(entry.slice(0, 2), ['node', 'dist/cli/main.js']);
    const server = spawn(process.execPath, entry.slice(1), { cwd: root, env });
    procs.push(server);
    let out = '';
    server.stdout.on('data', (c: Buffer) => (out += c.toString()));
    server.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(out)), 30_000);
      server.stdout.on('data', () => {
        const m = /listening on (http:\/\/[\d.:]+)/.exec(out);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
    });
    assert.doesNotMatch(out, /pdvs_adm_/, 'the token came from the secret, none was created');
    const stats = await fetch(`${url}/api/stats`, {
      headers: { 'x-api-key': 'docker-secret-admin-token-0123456789' },
    });
    assert.equal(stats.status, 200);
    assert.equal(((await stats.json()) as { dialect: string }).dialect, 'postgres');
    // HEALTHCHECK CMD ["node", "-e", …], pointed at this process's port.
    const health = jsonInstruction('HEALTHCHECK');
    const port = new URL(url).port;
    const check = spawn(process.execPath, health.slice(1), {
      env: { ...env, PDV_SYNC_PORT: port },
    });
    assert.equal(await new Promise((resolve) => check.once('close', resolve)), 0);
    server.kill('SIGTERM');
    assert.equal(await new Promise((resolve) => server.once('close', resolve)), 0);
    // And failing when nothing answers.
    const down = spawnSync(process.execPath, health.slice(1), {
      env: { ...env, PDV_SYNC_PORT: port },
    });
    assert.equal(down.status, 1);
  } finally {
    await db.drop();
  }
});

test('docker-compose.yml: server and PostgreSQL with health checks, volumes and the admin token from a secret', () => {
  const compose = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
  assert.match(compose, /^ {2}postgres:\n/m);
  assert.match(compose, /^ {2}server:\n/m);
  assert.equal((compose.match(/^ {4}healthcheck:/gm) ?? []).length, 2);
  assert.match(compose, /condition: service_healthy/);
  assert.match(compose, /pgdata:\/var\/lib\/postgresql\/data/);
  assert.match(compose, /pdvsync:\/var\/lib\/pdv-sync/);
  assert.match(compose, /PDV_SYNC_ADMIN_TOKEN_FILE: \/run\/secrets\/pdv_sync_admin_token/);
  assert.doesNotMatch(compose, /PDV_SYNC_ADMIN_TOKEN:/, 'no token in the file itself');
});
