import mssql from 'mssql';
import { compileNamedParams } from './named-params.js';
import { maskUrl, type SourceDb, type SourceRow } from './source-db.js';

const yes = (v: string | null, fallback: boolean): boolean =>
  v === null ? fallback : /^(1|true|yes)$/i.test(v);

/**
 * `mssql://user:password@host[:port]/database?instance=HIPER&encrypt=false&trustServerCertificate=true`
 * → the `mssql` (tedious) configuration. `useUTC: true` makes tedious hand back a
 * naive `datetime` as a `Date` whose UTC fields are the wall clock, which
 * {@link naiveFromDate} turns back into text without any time zone applied.
 */
export function mssqlConfigFromUrl(url: string): mssql.config {
  const u = new URL(url.replace(/^sqlserver:/i, 'mssql:'));
  const q = u.searchParams;
  const instanceName = q.get('instance') ?? q.get('instanceName') ?? undefined;
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || undefined;
  const config: mssql.config = {
    server: decodeURIComponent(u.hostname) || 'localhost',
    connectionTimeout: Number(q.get('connectionTimeout') ?? 15_000),
    requestTimeout: Number(q.get('requestTimeout') ?? 120_000),
    pool: { max: 2, min: 0, idleTimeoutMillis: 30_000 },
    options: {
      encrypt: yes(q.get('encrypt'), false),
      trustServerCertificate: yes(q.get('trustServerCertificate'), true),
      useUTC: true,
      ...(instanceName ? { instanceName } : {}),
    },
  };
  if (u.port && !instanceName) config.port = Number(u.port);
  if (database) config.database = database;
  if (u.username) config.user = decodeURIComponent(u.username);
  if (u.password) config.password = decodeURIComponent(u.password);
  return config;
}

/** A `Date` that tedious built with `useUTC` → the naive wall-clock text it stands for. */
export function naiveFromDate(d: Date): string {
  return d.toISOString().replace('T', ' ').replace(/Z$/, '');
}

/** SQL Server through `mssql`/tedious: the seed's HiperPdv and Hiper databases. */
export class MssqlSource implements SourceDb {
  readonly dialect = 'mssql' as const;
  readonly description: string;
  private pool: Promise<mssql.ConnectionPool> | undefined;

  private constructor(
    private readonly config: mssql.config,
    url: string,
  ) {
    this.description = maskUrl(url);
  }

  static open(url: string): MssqlSource {
    return new MssqlSource(mssqlConfigFromUrl(url), url);
  }

  private connect(): Promise<mssql.ConnectionPool> {
    // A failed connection is forgotten, so the next cycle tries again.
    this.pool ??= new mssql.ConnectionPool(this.config).connect().catch((err: unknown) => {
      this.pool = undefined;
      throw err;
    });
    return this.pool;
  }

  async query(sql: string, params: Record<string, unknown>): Promise<SourceRow[]> {
    const compiled = compileNamedParams(sql, params, 'at-name');
    const pool = await this.connect();
    const request = pool.request();
    for (const name of compiled.names) request.input(name, params[name]);
    const result = await request.query<SourceRow>(compiled.sql);
    return result.recordset.map((row) => {
      const out: SourceRow = {};
      for (const [k, v] of Object.entries(row)) out[k] = v instanceof Date ? naiveFromDate(v) : v;
      return out;
    });
  }

  async clock(): Promise<string> {
    const [row] = await this.query('SELECT SYSDATETIME() AS now', {});
    return String(row?.['now']);
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    if (pool) await pool.then((p) => p.close()).catch(() => undefined);
  }
}
