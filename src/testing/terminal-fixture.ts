import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SyncClient, SyncManager, type SyncOptionsInput } from '../client/index.js';
import { postgresTestDatabase, sqliteTestDatabase, type TestDatabase } from './test-database.js';
import {
  killAllServerProcesses,
  startServerProcess,
  type ServerProcess,
} from './server-process.js';
import type { DialectName } from './test-server.js';

export const fixtureAdminToken = 'fixture-admin-token-0123456789abcdef';

/** A real server process on a fresh database, plus helpers to make terminals of it. */
export type ServerFixture = {
  server: ServerProcess;
  db: TestDatabase;
  dir: string;
  url: string;
  admin<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  device(storeId: string, machineId: string): Promise<string>;
  terminal(
    name: string,
    token: string,
    options?: SyncOptionsInput & { serverUrl?: string },
  ): SyncManager;
  /** A terminal with automatic sync and the live connection (only live notifications make it pull soon). */
  liveTerminal(
    name: string,
    token: string,
    options?: SyncOptionsInput & { serverUrl?: string },
  ): SyncClient;
  /** The environment the server process runs with (to start a second process on the same database). */
  env: NodeJS.ProcessEnv;
  restart(signal?: NodeJS.Signals): Promise<void>;
  close(): Promise<void>;
};

/**
 * One admin call on its own connection (node:http, no keep-alive pool): a server
 * SIGKILLed by an earlier test may leave a pooled connection to a port the next
 * server reuses. Fails after 30 s rather than hanging the suite.
 */
function adminRequest(
  base: string,
  method: string,
  path: string,
  body: unknown,
): Promise<{ status: number; text: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      new URL(path, base),
      {
        method,
        agent: false,
        timeout: 30_000,
        headers: {
          'x-api-key': fixtureAdminToken,
          ...(payload !== undefined
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
            : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export async function startServerFixture(dialect: DialectName): Promise<ServerFixture> {
  const db = dialect === 'sqlite' ? sqliteTestDatabase() : await postgresTestDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'pdv-sync-fixture-'));
  const env = {
    PDV_SYNC_DB: db.url,
    PDV_SYNC_ADMIN_TOKEN: fixtureAdminToken,
    PDV_SYNC_HOST: '127.0.0.1',
    PDV_SYNC_PORT: '0',
    PDV_SYNC_LOG_LEVEL: 'warn',
    PDV_SYNC_LOG_FILE: '',
    PDV_SYNC_RATE_LIMIT: '1000000',
    ...(db.pgSchema ? { PDV_SYNC_PG_SCHEMA: db.pgSchema } : {}),
  };
  let port = '0';
  const terminalOptions = (token: string, options: SyncOptionsInput): SyncOptionsInput => ({
    serverUrl: fixture.url,
    token,
    logFile: '',
    retry: { attempts: 2, baseDelayMs: 50, maxDelayMs: 200 },
    timeoutMs: 5000,
    ...options,
  });
  const fixture: ServerFixture = {
    server: await startServerProcess([], { cwd: dir, env }),
    db,
    dir,
    url: '',
    async admin<T>(method: string, path: string, body?: unknown): Promise<T> {
      const { status, text } = await adminRequest(fixture.url, method, path, body);
      if (status < 200 || status >= 300) throw new Error(`${method} ${path}: ${status} ${text}`);
      return JSON.parse(text) as T;
    },
    async device(storeId, machineId) {
      return (
        await fixture.admin<{ token: string }>('POST', '/api/admin/devices', { storeId, machineId })
      ).token;
    },
    terminal(name, token, options = {}) {
      return new SyncManager(join(dir, `${name}.db`), terminalOptions(token, options));
    },
    liveTerminal(name, token, options = {}) {
      return new SyncClient(
        join(dir, `${name}.db`),
        terminalOptions(token, { intervalMs: 600_000, ...options }),
      );
    },
    env,
    async restart(signal = 'SIGKILL') {
      await fixture.server.stop(signal);
      fixture.server = await startServerProcess([], {
        cwd: dir,
        env: { ...env, PDV_SYNC_PORT: port },
      });
    },
    async close() {
      await fixture.server.stop();
      killAllServerProcesses();
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  fixture.url = fixture.server.url;
  port = new URL(fixture.url).port;
  return fixture;
}
