import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { v7 as uuidv7 } from 'uuid';
import { serverSettingFlags } from '../server/index.js';
import { cliPath, killAllServerProcesses, startServerProcess } from '../testing/server-process.js';

const dir = mkdtempSync(join(tmpdir(), 'pdv-sync-e2e-'));
after(() => {
  killAllServerProcesses();
  rmSync(dir, { recursive: true, force: true });
});

const quietEnv = { PDV_SYNC_LOG_LEVEL: 'info', PDV_SYNC_PORT: '0', PDV_SYNC_HOST: '127.0.0.1' };

test('first start prints the URL and a one-time admin token; the second start does not print it again', async () => {
  const cwd = join(dir, 'first');
  const server = await startServerProcess([], { cwd: (mkdir(cwd), cwd), env: quietEnv });
  const token = /\n\s+(pdvs_adm_[\w-]+)/.exec(server.output())?.[1];
  assert.ok(token, server.output());
  const health = await fetch(`${server.url}/health`);
  assert.equal(health.status, 200);
  const stats = await fetch(`${server.url}/api/stats`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(stats.status, 200);
  assert.equal(await server.stop(), 0);
  const logDir = join(cwd, 'logs');
  const files = readdirSync(logDir);
  assert.ok(files.length > 0);
  const log = files.map((f) => readFileSync(join(logDir, f), 'utf8')).join('');
  const lines = log.trim().split('\n');
  assert.ok(
    lines.every((l) => typeof (JSON.parse(l) as { level: number }).level === 'number'),
    'log file is JSON lines',
  );
  assert.ok(!log.includes(token), 'the token never reaches the log');

  const again = await startServerProcess([], { cwd, env: quietEnv });
  assert.ok(!again.output().includes('pdvs_adm_'));
  assert.equal(await again.stop(), 0);
});

test('a bad setting stops start-up with a message naming the flag and the variable', () => {
  const result = spawnSync(process.execPath, [cliPath, 'server', '--port', 'abc'], {
    cwd: dir,
    env: { ...process.env, PDV_SYNC_LANG: 'en' },
    encoding: 'utf8',
  });
  assert.equal(result.status, 2);
  assert.match(result.stderr, /CONFIG_INVALID/);
  assert.match(result.stderr, /--port \/ PDV_SYNC_PORT/);
});

test('.env in the working folder configures the server', async () => {
  const cwd = join(dir, 'dotenv');
  mkdir(cwd);
  writeFileSync(
    join(cwd, '.env'),
    'PDV_SYNC_ADMIN_TOKEN=dotenv-admin-token-0123456789\nPDV_SYNC_DB=sqlite:./custom/db.sqlite\n',
  );
  const server = await startServerProcess([], { cwd, env: quietEnv });
  const res = await fetch(`${server.url}/api/stats`, {
    headers: { 'x-api-key': 'dotenv-admin-token-0123456789' },
  });
  assert.equal(res.status, 200);
  assert.ok(readdirSync(join(cwd, 'custom')).includes('db.sqlite'));
  await server.stop();
});

test('SIGTERM lets an in-flight push finish and exits cleanly; the acknowledged rows survive a restart', async () => {
  const cwd = join(dir, 'drain');
  mkdir(cwd);
  const env = {
    ...quietEnv,
    PDV_SYNC_ADMIN_TOKEN: 'drain-admin-token-0123456789abc',
    PDV_SYNC_LOG_LEVEL: 'warn',
  };
  const headers = { 'x-api-key': env.PDV_SYNC_ADMIN_TOKEN, 'content-type': 'application/json' };
  const server = await startServerProcess([], { cwd, env });
  const mutations = Array.from({ length: 4000 }, () => ({
    eventId: uuidv7(),
    table: 'produtos',
    op: 'upsert',
    record: { id: uuidv7(), nome: 'Produto', preco: 1.5 },
  }));
  // In flight for sure, whatever the machine's load: the headers and half the body are in
  // the server's hands before SIGTERM, the rest follows after it.
  const payload = Buffer.from(JSON.stringify({ machineId: 'admin', mutations }));
  const req = httpRequest(`${server.url}/api/sync/push`, {
    method: 'POST',
    headers: { ...headers, 'content-length': payload.length },
  });
  const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req.once('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.once('error', reject);
  });
  const half = Math.floor(payload.length / 2);
  await new Promise<void>((resolve) => req.write(payload.subarray(0, half), () => resolve()));
  await new Promise((r) => setTimeout(r, 300));
  const exit = server.stop('SIGTERM');
  await new Promise((r) => setTimeout(r, 100));
  req.end(payload.subarray(half));
  const res = await answer;
  assert.equal(res.status, 200, res.text.slice(0, 300));
  const body = JSON.parse(res.text) as { summary: { applied: number } };
  assert.equal(body.summary.applied, 4000);
  assert.equal(await exit, 0);

  const restarted = await startServerProcess([], { cwd, env });
  const list = await fetch(`${restarted.url}/api/tables/produtos?limit=1`, {
    headers: { ...headers, 'accept-encoding': 'gzip' },
  });
  assert.equal(((await list.json()) as { total: number }).total, 4000);
  const raw = await fetch(`${restarted.url}/api/sync/changes?limit=2000`, {
    headers: { ...headers, 'accept-encoding': 'gzip' },
  });
  assert.equal(raw.headers.get('content-encoding'), 'gzip');
  await restarted.stop();
});

function mkdir(path: string): void {
  spawnSync('mkdir', ['-p', path]);
}

test('every server setting has a flag, and a flag given on the command line reaches the server', async () => {
  const help = spawnSync(process.execPath, [cliPath, 'server', '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0, help.stderr);
  for (const { flag } of serverSettingFlags) assert.ok(help.stdout.includes(flag), flag);
  const cwd = join(dir, 'flags');
  const metricsToken = 'metrics-token-from-the-command-line-0123';
  const server = await startServerProcess(['--metrics-token', metricsToken], {
    cwd: (mkdir(cwd), cwd),
    env: quietEnv,
  });
  const scraped = await fetch(`${server.url}/metrics`, {
    headers: { authorization: `Bearer ${metricsToken}` },
  });
  assert.equal(scraped.status, 200);
  assert.match(await scraped.text(), /pdvsync_/);
  const refused = await fetch(`${server.url}/metrics`, {
    headers: { authorization: 'Bearer metrics-token-that-was-never-given-0123' },
  });
  assert.equal(refused.status, 401);
  assert.equal(await server.stop(), 0);
});
