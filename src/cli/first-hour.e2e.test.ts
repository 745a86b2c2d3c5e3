import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import {
  createStoreDatabases,
  seedCatalog,
  seedSales,
  offsetMinutes,
} from '../testing/agent-sources.js';
import { cliPath, killAllServerProcesses, startServerProcess } from '../testing/server-process.js';
import { postgresUrl } from '../testing/test-database.js';
import { WebhookReceiver } from '../testing/webhook-receiver.js';
import { toIsoWithOffset } from '../agent/local-time.js';
import { writeState } from '../agent/state-file.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'pdv-sync-first-hour-'));
after(() => {
  killAllServerProcesses();
  rmSync(dir, { recursive: true, force: true });
});

const adminToken = 'first-hour-admin-token-0123456789';

function cli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(process.execPath, [cliPath, ...args], {
    cwd: options.cwd ?? dir,
    env: { PATH: process.env['PATH'], PDV_SYNC_LANG: 'en', ...options.env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The CLI without blocking this process (the webhook receiver of a test runs here). */
function cliAsync(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [cliPath, ...args], {
    cwd: dir,
    env: { PATH: process.env['PATH'], PDV_SYNC_LANG: 'en', ...env },
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) =>
    proc.once('close', (status) => resolve({ status, stdout, stderr })),
  );
}

test('pdv-sync --version prints the package version', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const r = cli(['--version']);
  assert.equal(r.status, 0);
  assert.equal(r.stdout.trim(), pkg.version);
});

test('help is in pt-BR by default and in English with PDV_SYNC_LANG=en', () => {
  const pt = cli(['--help'], { env: { PDV_SYNC_LANG: 'pt-BR' } });
  assert.equal(pt.status, 0);
  assert.match(pt.stdout, /^Uso: pdv-sync/m);
  assert.match(pt.stdout, /Comandos:/);
  assert.match(pt.stdout, /inicia o servidor de sincronização/);
  assert.match(pt.stdout, /mostra a versão/);
  const en = cli(['--help'], { env: { PDV_SYNC_LANG: 'en' } });
  assert.match(en.stdout, /^Usage: pdv-sync/m);
  assert.match(en.stdout, /start the sync server/);
  const sub = cli(['device', 'add', '--help'], { env: { PDV_SYNC_LANG: 'pt-BR' } });
  assert.match(sub.stdout, /Opções:/);
  assert.match(sub.stdout, /cria um token ligado a uma loja/);
  assert.match(sub.stdout, /nunca é criado/);
});

describe('npm start builds only when dist is missing or older than the sources', () => {
  const script = join(root, 'scripts', 'build-if-stale.mjs');
  const check = (project: string) =>
    spawnSync(process.execPath, [script, '--check', '--root', project], {
      encoding: 'utf8',
    }).stdout.trim();
  test('fresh clone, built, edited, installed package', () => {
    const project = join(dir, 'project');
    mkdirSync(join(project, 'src', 'cli'), { recursive: true });
    writeFileSync(join(project, 'src', 'cli', 'main.ts'), '');
    writeFileSync(join(project, 'package.json'), '{}');
    writeFileSync(join(project, 'tsconfig.json'), '{}');
    const old = new Date(Date.now() - 60_000);
    for (const f of ['src/cli/main.ts', 'package.json', 'tsconfig.json'])
      utimesSync(join(project, f), old, old);
    assert.equal(check(project), 'stale', 'no dist: a fresh clone builds');
    mkdirSync(join(project, 'dist', 'cli'), { recursive: true });
    writeFileSync(join(project, 'dist', 'cli', 'main.js'), '');
    assert.equal(check(project), 'fresh', 'built after the last edit: no rebuild');
    writeFileSync(join(project, 'src', 'cli', 'main.ts'), '// edited');
    const later = new Date(Date.now() + 5_000);
    utimesSync(join(project, 'src', 'cli', 'main.ts'), later, later);
    assert.equal(check(project), 'stale', 'a source newer than dist: rebuild');
    rmSync(join(project, 'src'), { recursive: true });
    assert.equal(check(project), 'fresh', 'an installed package (no src) never builds');
  });
  test('package.json runs it before start (the quick start still works on a fresh clone)', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    assert.equal(pkg.scripts['prestart'], 'node scripts/build-if-stale.mjs');
    assert.equal(check(root), 'fresh', 'this checkout was just built');
  });
});

describe('device add|list|revoke never creates a database silently', () => {
  test('from another folder with no server database: refused, nothing created', () => {
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    const r = cli(['device', 'add', '--store', 'loja-01', '--machine', 'caixa-01'], {
      cwd: elsewhere,
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /DATABASE_NOT_FOUND/);
    assert.match(r.stderr, /--server URL/);
    assert.ok(!existsSync(join(elsewhere, 'data')), 'no data folder created');
    assert.doesNotMatch(r.stdout, /pdvs_dev_/);
    const pt = cli(['device', 'list'], { cwd: elsewhere, env: { PDV_SYNC_LANG: 'pt-BR' } });
    assert.equal(pt.status, 1);
    assert.match(pt.stderr, /Nenhum banco do servidor/);
    const pgMissing = cli(['device', 'list', '--db', postgresUrl], {
      cwd: elsewhere,
      env: { PDV_SYNC_PG_SCHEMA: 'no_such_schema_here' },
    });
    assert.equal(pgMissing.status, 1, pgMissing.stderr);
    assert.match(pgMissing.stderr, /DATABASE_NOT_FOUND/);
  });

  test("through the running server's admin API, and in the server's own folder", async () => {
    const serverDir = join(dir, 'server');
    mkdirSync(serverDir);
    writeFileSync(join(serverDir, '.env'), 'PDV_SYNC_DB=sqlite:./store/server.db\n');
    const server = await startServerProcess(
      ['--port', '0', '--host', '127.0.0.1', '--log-file', ''],
      {
        cwd: serverDir,
        env: { PDV_SYNC_ADMIN_TOKEN: adminToken },
      },
    );
    try {
      const noToken = cli([
        'device',
        'add',
        '--store',
        'l1',
        '--machine',
        'm0',
        '--server',
        server.url,
      ]);
      assert.equal(noToken.status, 2, noToken.stderr);
      assert.match(noToken.stderr, /admin token/);
      const wrong = cli([
        'device',
        'list',
        '--server',
        server.url,
        '--admin-token',
        'x'.repeat(30),
      ]);
      assert.equal(wrong.status, 1);
      assert.match(wrong.stderr, /refused \(401\)/);

      const add = cli(
        ['device', 'add', '--store', 'loja-01', '--machine', 'caixa-01', '--server', server.url],
        {
          env: { PDV_SYNC_ADMIN_TOKEN: adminToken },
        },
      );
      assert.equal(add.status, 0, add.stderr);
      const token = /\n\s+(pdvs_dev_\S+)/.exec(add.stdout)?.[1];
      assert.ok(token, add.stdout);
      const schema = await fetch(`${server.url}/api/schema`, { headers: { 'x-api-key': token } });
      assert.equal(schema.status, 200, 'the printed token is accepted by the running server');

      // In the server's folder, the same .env leads to the same database.
      const local = cli(['device', 'add', '--store', 'loja-01', '--machine', 'caixa-02'], {
        cwd: serverDir,
      });
      assert.equal(local.status, 0, local.stderr);
      const token2 = /\n\s+(pdvs_dev_\S+)/.exec(local.stdout)?.[1] ?? '';
      const schema2 = await fetch(`${server.url}/api/schema`, { headers: { 'x-api-key': token2 } });
      assert.equal(schema2.status, 200);

      const list = cli(['device', 'list', '--server', server.url, '--admin-token', adminToken]);
      assert.equal(list.status, 0, list.stderr);
      assert.match(list.stdout, /caixa-01/);
      assert.match(list.stdout, /caixa-02/);
      const revoke = cli([
        'device',
        'revoke',
        '--machine',
        'caixa-01',
        '--server',
        server.url,
        '--admin-token',
        adminToken,
      ]);
      assert.equal(revoke.status, 0, revoke.stderr);
      const after = await fetch(`${server.url}/api/schema`, { headers: { 'x-api-key': token } });
      assert.equal(after.status, 401);
      const again = cli([
        'device',
        'revoke',
        '--machine',
        'caixa-01',
        '--server',
        server.url,
        '--admin-token',
        adminToken,
      ]);
      assert.equal(again.status, 1);
      assert.match(again.stderr, /NOT_FOUND/);
    } finally {
      await server.stop();
    }
  });

  test('an unreachable --server says so in one line', () => {
    const r = cli([
      'device',
      'list',
      '--server',
      'http://127.0.0.1:1',
      '--admin-token',
      adminToken,
    ]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /does not answer/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});

describe('start-up failures print one line saying what failed and what to do', () => {
  const start = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    cli(['server', '--log-file', '', '--host', '127.0.0.1', ...args], {
      env: { PDV_SYNC_ADMIN_TOKEN: adminToken, ...env },
    });
  const oneLine = (r: { status: number | null; stderr: string }, pattern: RegExp) => {
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], pattern);
  };
  test('port in use', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      oneLine(
        start(['--port', String(port), '--db', `sqlite:${join(dir, 'port.db')}`]),
        new RegExp(`Port ${port} is already in use.*--port`),
      );
      const pt = start(['--port', String(port), '--db', `sqlite:${join(dir, 'port.db')}`], {
        PDV_SYNC_LANG: 'pt-BR',
      });
      oneLine(pt, new RegExp(`A porta ${port} já está em uso`));
    } finally {
      blocker.close();
    }
  });
  const pg = new URL(postgresUrl);
  test('PostgreSQL down', () =>
    oneLine(
      start(['--port', '0', '--db', 'postgres://postgres@127.0.0.1:1/test']),
      /PostgreSQL at 127\.0\.0\.1:1 does not answer/,
    ));
  test('database missing', () => {
    const u = new URL(postgresUrl);
    u.pathname = '/pdv_sync_no_such_db';
    oneLine(
      start(['--port', '0', '--db', u.toString()]),
      /Database "pdv_sync_no_such_db" does not exist.*createdb/,
    );
  });
  test('role missing', () => {
    const u = new URL(postgresUrl);
    u.username = 'pdv_sync_no_such_role';
    oneLine(
      start(['--port', '0', '--db', u.toString()]),
      /Role "pdv_sync_no_such_role" does not exist/,
    );
  });
  test('SSL refused', () => {
    const u = new URL(postgresUrl);
    u.searchParams.set('sslmode', 'no-verify');
    oneLine(
      start(['--port', '0', '--db', u.toString()]),
      new RegExp(`PostgreSQL ${pg.hostname}:\\d+ does not accept SSL`),
    );
  });
});

test('agent --once exits non-zero when the delivery was refused', async () => {
  const token = 'agent-first-hour-token-0123';
  const dbs = await createStoreDatabases('sqlite');
  await seedCatalog(dbs);
  const receiver = await WebhookReceiver.start(token);
  const agentDir = join(dir, 'agent');
  try {
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 10 * 60_000;
    await seedSales(dbs, { db: 'caixa', firstId: 1, count: 5, fromMs: t0, spreadMs: 5 * 60_000 });
    mkdirSync(join(agentDir, 'data'), { recursive: true });
    await writeState(join(agentDir, 'data', 'state.json'), {
      last_sync_to: toIsoWithOffset(t0, offsetMinutes),
      gestao_pending: [],
    });
    const env = {
      TZ: 'UTC',
      API_TOKEN: token,
      WEBHOOK_URL: receiver.url,
      STORE_ID_PONTO_VENDA: '1',
      STORE_ID_FILIAL: '7',
      CAIXA_DB_URL: dbs.caixaUrl,
      GESTAO_DB_URL: dbs.gestaoUrl,
      AGENT_DATA_DIR: join(agentDir, 'data'),
      AGENT_LOG_DIR: join(agentDir, 'logs'),
      AGENT_SAFETY_LAG: '0s',
      AGENT_RETRIES: '0',
      AGENT_UTC_OFFSET: '-03:00',
    };
    receiver.mode = { kind: 'refuse', status: 422, when: () => true };
    const refused = await cliAsync(['agent', '--once'], env);
    assert.equal(refused.status, 1, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /Cycle failed: .*refused and moved to dead_letter/);
    assert.doesNotMatch(refused.stdout, /synced up to/);
    receiver.mode = { kind: 'ok' };
    assert.equal((await cliAsync(['agent', '--requeue-dead-letter'], env)).status, 0);
    const ok = await cliAsync(['agent', '--once'], env);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /synced up to/);
    assert.equal(receiver.sales.size, 5);
  } finally {
    await receiver.close();
    await dbs.close();
  }
});
