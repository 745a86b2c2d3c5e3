import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import {
  createServer,
  loadServerConfig,
  type RunningServer,
  type ServerConfigInput,
} from '../server/index.js';
import { postgresTestDatabase, sqliteTestDatabase, type TestDatabase } from './test-database.js';

export const adminToken = 'test-admin-token-0123456789abcdef';

export type TestServer = {
  server: RunningServer;
  db: TestDatabase;
  /** In-process request with a token (`x-api-key`). */
  request(token: string | null, options: InjectOptions): Promise<LightMyRequestResponse>;
  /** Creates a device token for a store and machine. */
  device(storeId: string, machineId: string): Promise<string>;
  /** Creates a store manager token (one store, no machine) named `name`. */
  manager(storeId: string, name: string): Promise<string>;
  close(): Promise<void>;
};

export type DialectName = 'sqlite' | 'postgres';

/** A real server on a fresh database of the given dialect, reached in process (`app.inject`). */
export async function startTestServer(
  dialect: DialectName,
  overrides: ServerConfigInput = {},
): Promise<TestServer> {
  const db = dialect === 'sqlite' ? sqliteTestDatabase() : await postgresTestDatabase();
  const config = loadServerConfig(
    {
      db: db.url,
      port: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      logFile: '',
      adminToken,
      pgSchema: db.pgSchema,
      ...overrides,
    },
    {},
  );
  const server = await createServer(config);
  const request = (token: string | null, options: InjectOptions) =>
    server.app.inject({
      ...options,
      headers: { ...(token ? { 'x-api-key': token } : {}), ...(options.headers ?? {}) },
    });
  return {
    server,
    db,
    request,
    async device(storeId, machineId) {
      const res = await request(adminToken, {
        method: 'POST',
        url: '/api/admin/devices',
        payload: { storeId, machineId },
      });
      if (res.statusCode !== 201) throw new Error(`device creation failed: ${res.body}`);
      return res.json<{ token: string }>().token;
    },
    async manager(storeId, name) {
      const res = await request(adminToken, {
        method: 'POST',
        url: '/api/admin/devices',
        payload: { storeId, machineId: name, role: 'manager' },
      });
      if (res.statusCode !== 201) throw new Error(`manager creation failed: ${res.body}`);
      return res.json<{ token: string }>().token;
    },
    async close() {
      await server.stop();
      await db.drop();
    },
  };
}
