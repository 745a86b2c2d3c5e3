import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { AgentPayload } from '../protocol/index.js';
import {
  createStoreDatabases,
  offsetMinutes,
  seedCatalog,
  seedSales,
  type SeededSale,
  type StoreDatabases,
} from '../testing/agent-sources.js';
import {
  killAllTracedProcesses,
  runKilledAtSyscall,
  runProcess,
} from '../testing/kill-at-syscall.js';
import { cliPath } from '../testing/server-process.js';
import { WebhookReceiver } from '../testing/webhook-receiver.js';
import { toIsoWithOffset } from './local-time.js';
import { readState, writeState } from './state-file.js';

const token = 'agent-e2e-token-0123456789';
const minute = 60_000;

after(() => killAllTracedProcesses());

type Store = {
  dbs: StoreDatabases;
  receiver: WebhookReceiver;
  dir: string;
  sales: SeededSale[];
  t0: number;
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
};

/** A store with an hour of sales not yet synced, a receiver and an agent folder. */
async function store(extraEnv: NodeJS.ProcessEnv = {}): Promise<Store> {
  const dbs = await createStoreDatabases('sqlite');
  await seedCatalog(dbs);
  const receiver = await WebhookReceiver.start(token);
  const dir = mkdtempSync(join(tmpdir(), 'pdv-agent-e2e-'));
  const t0 = Math.floor(Date.now() / 1000) * 1000 - 60 * minute;
  const sales = [
    ...(await seedSales(dbs, {
      db: 'caixa',
      firstId: 1,
      count: 300,
      fromMs: t0,
      spreadMs: 60 * minute,
    })),
    ...(await seedSales(dbs, {
      db: 'gestao',
      firstId: 5001,
      count: 100,
      fromMs: t0,
      spreadMs: 60 * minute,
    })),
  ];
  mkdirSync(join(dir, 'data'), { recursive: true });
  await writeState(join(dir, 'data', 'state.json'), {
    last_sync_to: toIsoWithOffset(t0, offsetMinutes),
    gestao_pending: [],
  });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    PDV_SYNC_LANG: 'en',
    TZ: 'UTC',
    API_TOKEN: token,
    WEBHOOK_URL: receiver.url,
    STORE_ID_PONTO_VENDA: '1',
    STORE_ID_FILIAL: '7',
    CAIXA_DB_URL: dbs.caixaUrl,
    GESTAO_DB_URL: dbs.gestaoUrl,
    AGENT_DATA_DIR: join(dir, 'data'),
    AGENT_LOG_DIR: join(dir, 'logs'),
    AGENT_INTERVAL: '200ms',
    AGENT_MAX_WINDOW: '1m',
    AGENT_SAFETY_LAG: '0s',
    AGENT_RETRIES: '0',
    AGENT_UTC_OFFSET: '-03:00',
    ...extraEnv,
  };
  return {
    dbs,
    receiver,
    dir,
    sales,
    t0,
    env,
    async close() {
      await receiver.close();
      await dbs.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every sale stored exactly once; stored windows contiguous from t0 to last_sync_to. */
function assertNothingLostOrDoubled(s: Store): void {
  const state = readState(join(s.env['AGENT_DATA_DIR']!, 'state.json'))!;
  const windows = s.receiver.payloads.map((p: AgentPayload) => [
    Date.parse(p.window.from),
    Date.parse(p.window.to),
  ]);
  assert.equal(windows[0][0], s.t0, 'the first window starts where the state was');
  for (let i = 1; i < windows.length; i++)
    assert.equal(windows[i][0], windows[i - 1][1], `no gap or overlap before window ${i}`);
  assert.equal(
    windows.at(-1)![1],
    Date.parse(state.last_sync_to),
    'the last window ends at last_sync_to',
  );
  assert.equal(s.receiver.salesSeenTwice, 0, 'no sale in two stored payloads');
  const missing = s.sales.filter((v) => !s.receiver.sales.has(`${v.canal}:${v.id}`));
  assert.deepEqual(missing, [], 'every sale arrived');
}

function agent(_s: Store, args: string[] = []) {
  return [cliPath, 'agent', ...args] as const;
}

describe('pdv-sync agent as a process', () => {
  test('SIGKILLed at random moments mid-cycle, restarted each time: no window lost, none stored twice', async () => {
    const s = await store();
    try {
      for (let i = 0; i < 8; i++) {
        const proc = spawn(process.execPath, agent(s), { cwd: s.dir, env: s.env, stdio: 'ignore' });
        await new Promise((r) => setTimeout(r, 250 + Math.random() * 900));
        proc.kill('SIGKILL');
        await new Promise((r) => proc.once('exit', r));
      }
      const done = await runProcess(process.execPath, agent(s, ['--once']), {
        cwd: s.dir,
        env: s.env,
      });
      assert.equal(done.code, 0, done.stderr);
      assert.match(done.stdout, /0 in the outbox/);
      assertNothingLostOrDoubled(s);
    } finally {
      await s.close();
    }
  });

  test('SIGKILLed at the k-th rename (outbox file, state.json) for k = 1..8: no window lost, none stored twice', async () => {
    const s = await store();
    try {
      let killed = 0;
      for (let k = 1; k <= 8; k++) {
        const run = await runKilledAtSyscall('rename', k, process.execPath, agent(s, ['--once']), {
          cwd: s.dir,
          env: s.env,
        });
        if (run.signal === 'SIGKILL' || run.code === 137) killed++;
      }
      assert.ok(killed >= 4, `the agent was killed mid-write (${killed} times)`);
      const done = await runProcess(process.execPath, agent(s, ['--once']), {
        cwd: s.dir,
        env: s.env,
      });
      assert.equal(done.code, 0, done.stderr);
      assertNothingLostOrDoubled(s);
    } finally {
      await s.close();
    }
  });

  test('SIGTERM lets the running step finish and exits 0', async () => {
    const s = await store();
    try {
      const proc = spawn(process.execPath, agent(s), {
        cwd: s.dir,
        env: s.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
      // Once it says it started (handlers are installed before that), mid-catch-up.
      await new Promise<void>((resolve) => {
        const onData = () => {
          if (/agent started/.test(out)) {
            proc.stdout.off('data', onData);
            resolve();
          }
        };
        proc.stdout.on('data', onData);
      });
      await new Promise((r) => setTimeout(r, 300));
      proc.kill('SIGTERM');
      const code = await new Promise((r) => proc.once('exit', r));
      assert.equal(code, 0, out);
      assert.match(out, /Agent stopped\./);
      assert.ok(!existsSync(join(s.env['AGENT_DATA_DIR']!, 'agent.lock')), 'lock released');
      const done = await runProcess(process.execPath, agent(s, ['--once']), {
        cwd: s.dir,
        env: s.env,
      });
      assert.equal(done.code, 0, done.stderr);
      assertNothingLostOrDoubled(s);
      const logs = readdirSync(join(s.dir, 'logs')).filter((f) => f.startsWith('pdv-sync-agent'));
      assert.ok(logs.length > 0, 'a rotating JSON log is written');
      const log = logs.map((f) => readFileSync(join(s.dir, 'logs', f), 'utf8')).join('');
      assert.match(log, /"msg":"payload delivered"/);
      assert.ok(!out.includes(token) && !log.includes(token), 'the token is never logged');
    } finally {
      await s.close();
    }
  });

  test('a missing or bad setting stops start-up with exit 2, naming the variable', () => {
    const r = spawnSync(process.execPath, [cliPath, 'agent'], {
      env: { PATH: process.env['PATH'], PDV_SYNC_LANG: 'en', STORE_ID_PONTO_VENDA: 'x' },
      cwd: tmpdir(),
      encoding: 'utf8',
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /CONFIG_INVALID/);
    assert.match(r.stderr, /API_TOKEN: missing/);
    assert.match(r.stderr, /STORE_ID_PONTO_VENDA/);
    assert.match(r.stderr, /WEBHOOK_URL/);
    assert.match(r.stderr, /CAIXA_DB_URL or SQL_DATABASE/);
  });

  test('--doctor --config FILE prints a line per check and writes logs/doctor.log', async () => {
    const s = await store();
    try {
      const conf = join(s.dir, 'agent.env');
      writeFileSync(
        conf,
        Object.entries(s.env)
          .filter(([k]) => !['PATH', 'PDV_SYNC_LANG', 'TZ'].includes(k))
          .map(([k, v]) => `${k}=${v}`)
          .join('\n'),
        { mode: 0o600 },
      );
      // SQLite's clock is the machine's local time (TZ=UTC here), so the store offset is +00:00.
      const env = {
        PATH: process.env['PATH'],
        PDV_SYNC_LANG: 'en',
        TZ: 'UTC',
        AGENT_UTC_OFFSET: '+00:00',
      };
      const ok = await runProcess(
        process.execPath,
        [cliPath, 'agent', '--doctor', '--config', conf],
        { cwd: tmpdir(), env },
      );
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      for (const label of [
        'Folder permissions',
        'Caixa database',
        'Gestao database',
        'API (reachability and token)',
        'Caixa database clock',
        'API clock',
      ])
        assert.match(ok.stdout, new RegExp(`\\[PASS\\] ${label.replace(/[()]/g, '\\$&')}`));
      const log = readFileSync(join(s.dir, 'logs', 'doctor.log'), 'utf8');
      assert.match(log, /PASS api: /);
      assert.ok(!log.includes(token));

      const bad = await runProcess(
        process.execPath,
        [cliPath, 'agent', '--doctor', '--config', conf],
        {
          cwd: tmpdir(),
          env: {
            ...env,
            API_TOKEN: 'wrong-token-123',
            GESTAO_DB_URL: 'postgres://postgres@127.0.0.1:1/none',
          },
        },
      );
      assert.equal(bad.code, 1);
      assert.match(bad.stdout, /\[FAIL\] Gestao database/);
      assert.match(bad.stdout, /\[FAIL\] API \(reachability and token\).*401, API_TOKEN refused/);
      assert.match(bad.stdout, /\[PASS\] Caixa database/);
    } finally {
      await s.close();
    }
  });
});
