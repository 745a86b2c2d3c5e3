import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { checksStoreId } from '../../protocol/index.js';
import {
  cliPath,
  killAllServerProcesses,
  startServerProcess,
  type ServerProcess,
} from '../../testing/server-process.js';
import { sqliteTestDatabase, type TestDatabase } from '../../testing/test-database.js';

const adminToken = 'checks-e2e-admin-token-0123456789';

type Run = { status: number | null; stdout: string; stderr: string };

function run(args: string[]): Promise<Run> {
  const proc = spawn(process.execPath, [cliPath, ...args], {
    env: { PATH: process.env['PATH'], PDV_SYNC_LANG: 'en', PDV_SYNC_ADMIN_TOKEN: adminToken },
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) =>
    proc.once('close', (status) => resolve({ status, stdout, stderr })),
  );
}

type Exchange = { method: string; path: string; body: string };
/** What the broken server does instead: answer itself, rewrite the request body, or rewrite the answer. */
type Breakage = {
  answer?: (x: Exchange) => { status: number; body: string } | undefined;
  request?: (x: Exchange) => string;
  response?: (x: Exchange, body: string) => string;
};

/** The real server behind an HTTP proxy that breaks one behaviour. */
class BreakingProxy {
  breakage: Breakage = {};
  url = '';
  private readonly server: Server = createServer((req, res) => void this.handle(req, res));

  constructor(private readonly upstream: string) {}

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const x: Exchange = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      body: Buffer.concat(chunks).toString(),
    };
    const own = this.breakage.answer?.(x);
    if (own) {
      res.writeHead(own.status, { 'content-type': 'application/json' });
      res.end(own.body);
      return;
    }
    const body = this.breakage.request ? this.breakage.request(x) : x.body;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (typeof v === 'string' && !['host', 'content-length', 'connection'].includes(k))
        headers[k] = v;
    const up = await fetch(`${this.upstream}${x.path}`, {
      method: x.method,
      headers,
      ...(x.method === 'GET' || x.method === 'HEAD' || x.body === '' ? {} : { body }),
    });
    let text = await up.text();
    if (this.breakage.response) text = this.breakage.response(x, text);
    res.writeHead(up.status, {
      'content-type': up.headers.get('content-type') ?? 'application/json',
    });
    res.end(text);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const json = (status: number, body: unknown) => ({ status, body: JSON.stringify(body) });

/** Exit 1, and the only FAIL line names the broken check. */
function failsOnly(r: Run, check: string): void {
  assert.equal(r.status, 1, r.stdout + r.stderr);
  const fails = r.stdout.split('\n').filter((l) => l.startsWith('[FAIL]'));
  assert.equal(fails.length, 1, r.stdout);
  assert.ok(fails[0].startsWith(`[FAIL] ${check}:`), r.stdout);
}

describe('pdv-sync smoke and reliability', () => {
  let db: TestDatabase;
  let server: ServerProcess;
  let proxy: BreakingProxy;
  let sqlite: Database.Database;
  before(async () => {
    db = sqliteTestDatabase();
    server = await startServerProcess(
      ['--db', db.url, '--port', '0', '--host', '127.0.0.1', '--log-file', ''],
      { env: { PDV_SYNC_ADMIN_TOKEN: adminToken, PDV_SYNC_LOG_LEVEL: 'warn' } },
    );
    proxy = new BreakingProxy(server.url);
    await proxy.start();
    sqlite = new Database(db.url.slice('sqlite:'.length));
  });
  after(async () => {
    sqlite.close();
    await proxy.close();
    await server.stop();
    killAllServerProcesses();
    await db.drop();
  });

  test('both pass against a live server, and the checks store stays out of /api/stats', async () => {
    const smoke = await run(['smoke', '--server', server.url]);
    assert.equal(smoke.status, 0, smoke.stdout + smoke.stderr);
    for (const name of ['health', 'schema', 'device round trip', 'reconcile', 'reconcile history'])
      assert.match(smoke.stdout, new RegExp(`^\\[PASS\\] ${name}:`, 'm'));
    assert.match(smoke.stdout, /5 of 5 checks passed/);
    const reliability = await run([
      'reliability',
      '--server',
      server.url,
      '--admin-token',
      adminToken,
    ]);
    assert.equal(reliability.status, 0, reliability.stdout + reliability.stderr);
    for (const name of [
      'idempotency',
      'stale update becomes a conflict',
      'tombstone reaches another terminal',
      'cursor resume',
    ])
      assert.match(reliability.stdout, new RegExp(`^\\[PASS\\] ${name}:`, 'm'));
    const stats = (await (
      await fetch(`${server.url}/api/stats`, { headers: { 'x-api-key': adminToken } })
    ).json()) as {
      devices: { storeId: string }[];
      tables: { table: string; rows: number; changes: number }[];
    };
    assert.ok(
      stats.devices.every((d) => d.storeId !== checksStoreId),
      'no check device in stats',
    );
    assert.ok(
      stats.tables.every((t) => t.rows === 0 && t.changes === 0),
      JSON.stringify(stats.tables),
    );
    const inStore = sqlite
      .prepare(`SELECT COUNT(*) AS n FROM despesas WHERE store_id = ?`)
      .get(checksStoreId) as { n: number };
    assert.ok(inStore.n > 0, 'the checks wrote into the reserved store');
  });

  test('without a server or an admin token: a clear message, exit 2', async () => {
    const r = await run(['smoke']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--server URL/);
  });

  const smokeBreaks: [string, Breakage][] = [
    [
      'health',
      { answer: (x) => (x.path === '/health' ? json(503, { status: 'degraded' }) : undefined) },
    ],
    [
      'schema',
      { answer: (x) => (x.path === '/api/schema' ? json(500, { code: 'INTERNAL' }) : undefined) },
    ],
    [
      'device round trip',
      {
        // Revocation acknowledged but never done: the token keeps working.
        answer: (x) => (x.method === 'DELETE' ? json(200, { revoked: true }) : undefined),
      },
    ],
    [
      'reconcile',
      {
        // Stored, but answered without its verdict.
        response: (x, body) =>
          x.method === 'POST' && x.path === '/api/sync/reconcile'
            ? JSON.stringify({ success: true })
            : body,
      },
    ],
    [
      'reconcile history',
      {
        response: (x, body) =>
          x.path.startsWith('/api/sync/reconcile/history')
            ? JSON.stringify({ success: true, count: 0, data: [] })
            : body,
      },
    ],
  ];
  for (const [check, breakage] of smokeBreaks)
    test(`smoke fails on exactly "${check}" when that is broken`, async () => {
      proxy.breakage = breakage;
      try {
        failsOnly(await run(['smoke', '--server', proxy.url]), check);
      } finally {
        proxy.breakage = {};
      }
    });

  test('reliability fails on exactly "idempotency" when the server forgets event ids', async () => {
    sqlite.exec(
      `CREATE TRIGGER break_idempotency AFTER INSERT ON _sync_events BEGIN DELETE FROM _sync_events WHERE event_id = NEW.event_id; END`,
    );
    try {
      failsOnly(await run(['reliability', '--server', server.url]), 'idempotency');
    } finally {
      sqlite.exec(`DROP TRIGGER break_idempotency`);
    }
  });

  test('reliability fails on exactly "tombstone reaches another terminal" when deletes leave no tombstone', async () => {
    sqlite.exec(`CREATE TRIGGER break_tombstone_i AFTER INSERT ON _sync_changes WHEN NEW.op = 'delete' BEGIN DELETE FROM _sync_changes WHERE seq = NEW.seq; END;
                 CREATE TRIGGER break_tombstone_u AFTER UPDATE ON _sync_changes WHEN NEW.op = 'delete' BEGIN DELETE FROM _sync_changes WHERE seq = NEW.seq; END;`);
    try {
      failsOnly(
        await run(['reliability', '--server', server.url]),
        'tombstone reaches another terminal',
      );
    } finally {
      sqlite.exec(`DROP TRIGGER break_tombstone_i; DROP TRIGGER break_tombstone_u;`);
    }
  });

  test('reliability fails on exactly "stale update becomes a conflict" when client times are dropped', async () => {
    proxy.breakage = {
      request: (x) => {
        if (x.path !== '/api/sync/push') return x.body;
        const body = JSON.parse(x.body) as { mutations: Record<string, unknown>[] };
        for (const m of body.mutations) {
          delete m['updatedAt'];
          delete m['baseVersion'];
        }
        return JSON.stringify(body);
      },
    };
    try {
      failsOnly(
        await run(['reliability', '--server', proxy.url]),
        'stale update becomes a conflict',
      );
    } finally {
      proxy.breakage = {};
    }
  });

  test('reliability fails on exactly "cursor resume" when a page does not advance the cursor', async () => {
    proxy.breakage = {
      response: (x, body) => {
        if (!x.path.startsWith('/api/sync/changes') || !x.path.includes('limit=2')) return body;
        const since = new URL(x.path, 'http://x').searchParams.get('since') ?? '';
        return JSON.stringify({ ...(JSON.parse(body) as object), cursor: since });
      },
    };
    try {
      failsOnly(await run(['reliability', '--server', proxy.url]), 'cursor resume');
    } finally {
      proxy.breakage = {};
    }
  });
});
