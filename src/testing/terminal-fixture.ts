import { mkdtempSync, rmSync } from 'node:fs';
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
      // A held timer: a test's admin call fails after 30 s instead of hanging the suite.
      const controller = new AbortController();
      const timer = setTimeout(
        () => controller.abort(new Error(`${method} ${path}: no answer in 30 s`)),
        30_000,
      );
      try {
        const res = await fetch(`${fixture.url}${path}`, {
          method,
          headers: {
            'x-api-key': fixtureAdminToken,
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          signal: controller.signal,
        });
        const text = await res.text();
        if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
        return JSON.parse(text) as T;
      } finally {
        clearTimeout(timer);
      }
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
