import type { ParamStyle } from './named-params.js';

export const sourceDialects = ['mssql', 'postgres', 'mysql', 'sqlite'] as const;
export type SourceDialect = (typeof sourceDialects)[number];

/** One row as the extraction queries return it; column names are the contract. */
export type SourceRow = Record<string, unknown>;

/**
 * A store database the agent reads (the till's `caixa` or the back office's
 * `gestao`). Read-only by contract: the agent never writes to a source.
 * Drivers return timestamps as text (naive wall clock, or with a zone when the
 * column has one), never as `Date`, so no driver applies the process's time zone.
 */
export interface SourceDb {
  readonly dialect: SourceDialect;
  /** The URL with its password masked, for logs and the doctor. */
  readonly description: string;
  /** Runs one query; `sql` uses named parameters (`:from`), translated for the driver. */
  query(sql: string, params: Record<string, unknown>): Promise<SourceRow[]>;
  /** The database's own clock as naive wall-clock text, for the doctor's skew check. */
  clock(): Promise<string>;
  close(): Promise<void>;
}

export const paramStyleOf: Record<SourceDialect, ParamStyle> = {
  mssql: 'at-name',
  postgres: 'dollar-n',
  mysql: 'question',
  sqlite: 'question',
};

/**
 * The dialect named by a source URL: `mssql://` or `sqlserver://`, `postgres://` or
 * `postgresql://`, `mysql://` or `mariadb://`, `sqlite:PATH` or a bare file path.
 */
export function dialectOf(url: string): SourceDialect {
  if (/^(mssql|sqlserver):\/\//i.test(url)) return 'mssql';
  if (/^postgres(ql)?:\/\//i.test(url)) return 'postgres';
  if (/^(mysql|mariadb):\/\//i.test(url)) return 'mysql';
  if (/^sqlite:/i.test(url) || !/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return 'sqlite';
  throw new RangeError(`unsupported source URL scheme: ${maskUrl(url)}`);
}

/** The URL with its password replaced by `***`. */
export function maskUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}

/** The file path of a `sqlite:` URL (`sqlite:./pdv.db`, `sqlite:///abs/pdv.db`) or a bare path. */
export function sqlitePath(url: string): string {
  const rest = url.replace(/^sqlite:/i, '');
  return rest.startsWith('//') ? rest.slice(2) : rest;
}

/** Opens the driver the URL names; connections are made lazily, at the first query. */
export async function openSource(url: string): Promise<SourceDb> {
  switch (dialectOf(url)) {
    case 'mssql':
      return (await import('./mssql-source.js')).MssqlSource.open(url);
    case 'postgres':
      return (await import('./postgres-source.js')).PostgresSource.open(url);
    case 'mysql':
      return (await import('./mysql-source.js')).MysqlSource.open(url);
    case 'sqlite':
      return (await import('./sqlite-source.js')).SqliteSource.open(url);
  }
}
