import pg from 'pg';
import {
  columnScale,
  decimalPrecision,
  type ColumnDef,
  type ColumnType,
  type SyncSchema,
} from '../../../protocol/index.js';
import {
  classifyDriverError,
  CommitSignal,
  decodeCommon,
  type Row,
  type ScanExecutor,
  type SqlExecutor,
  type Storage,
  type StorageCapabilities,
} from '../storage.js';
import { CommitListener } from './commit-listener.js';
import {
  addColumnDdl,
  bookkeepingDdl,
  changeLogLockKey,
  changeLogOrder,
  changeLogOrderKey,
  changeNotifyChannel,
  createTableDdl,
  decimalUpgradeDdl,
  postgresTypes,
  dropStoreIndexDdl,
  storeKeyUpgradeDdl,
  triggerDdl,
} from './ddl.js';

const builtins = pg.types.builtins;

/**
 * Numbers as numbers, timestamps as ISO text: the same JSON values SQLite gives. NUMERIC (the
 * decimal columns, and SUM of integers) stays text: exact; callers that count use Number().
 */
function typeParser(oid: number, format?: string): (value: string) => unknown {
  if (oid === builtins.NUMERIC) return String;
  if (oid === builtins.INT8 || oid === builtins.FLOAT8) return Number;
  if (oid === builtins.TIMESTAMPTZ || oid === builtins.TIMESTAMP)
    return (v) => new Date(oid === builtins.TIMESTAMP ? `${v}Z` : v).toISOString();
  return pg.types.getTypeParser(oid, (format ?? 'text') as 'text') as (value: string) => unknown;
}

/**
 * `StorageCapabilities.columnJson` on PostgreSQL: the JSON text of the values the page writer
 * (sync/page-json.ts) would write from what this driver hands it (`typeParser`), for the
 * values whose text both sides print alike; SQL NULL for the rest, decoded in JS.
 */
function columnJson(column: ColumnDef, x: string): string | null {
  const guarded = (when: string, json: string) =>
    `CASE WHEN ${x} IS NULL THEN 'null' WHEN ${when} THEN ${json} END`;
  switch (column.type) {
    case 'text':
      // to_json escapes as JSON.stringify does (quote, backslash, control characters).
      return guarded('TRUE', `to_json(${x})::text`);
    case 'integer':
      return guarded(`${x} BETWEEN -9007199254740991 AND 9007199254740991`, `${x}::text`);
    case 'number':
      // Whole numbers only: PostgreSQL and JS print fractions and exponents differently.
      return guarded(`${x} = trunc(${x}) AND abs(${x}) < 1e15`, `trunc(${x})::bigint::text`);
    case 'boolean':
      return guarded('TRUE', `CASE WHEN ${x} THEN 'true' ELSE 'false' END`);
    case 'timestamp':
      // The driver's Date keeps milliseconds (truncated, as to_char's MS is); years of four
      // digits print alike (toISOString writes others with a sign and six digits).
      return guarded(
        `${x} >= '1900-01-01T00:00:00Z' AND ${x} < '10000-01-01T00:00:00Z'`,
        `'"' || to_char(${x} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '"'`,
      );
    case 'decimal': {
      // NUMERIC(18, scale) prints canonical text: exactly `scale` decimals, no negative zero.
      const scale = columnScale(column);
      const n = `(${x})::numeric`;
      return guarded(
        `scale(${n}) = ${scale} AND abs(${n}) < 1e${decimalPrecision - scale}`,
        `'"' || ${n}::text || '"'`,
      );
    }
    default:
      // JSONB prints with spaces JSON.stringify leaves out: written in JS.
      return `CASE WHEN ${x} IS NULL THEN 'null' END`;
  }
}

function toPositional(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

class PostgresExecutor implements ScanExecutor {
  constructor(private readonly client: pg.PoolClient | pg.Pool) {}

  async scan(
    sql: string,
    params: readonly unknown[],
    sliceRows: number,
    onSlice: (rows: Row[]) => void,
  ): Promise<void> {
    // A server-side cursor (inside bulkRead's transaction): the rows come over a slice at a
    // time, so neither the driver nor the event loop holds the whole result at once.
    await this.client.query(
      `DECLARE pdv_scan NO SCROLL CURSOR FOR ${toPositional(sql)}`,
      params as unknown[],
    );
    for (;;) {
      const { rows } = await this.client.query<Row>(`FETCH ${Math.trunc(sliceRows)} FROM pdv_scan`);
      if (rows.length > 0) onSlice(rows);
      if (rows.length < sliceRows) break;
    }
    await this.client.query('CLOSE pdv_scan');
  }

  async all<T extends Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    const result = await this.client.query<T>(toPositional(sql), params as unknown[]);
    return result.rows;
  }

  async run(sql: string, params: readonly unknown[] = []): Promise<number> {
    const result = await this.client.query(toPositional(sql), params as unknown[]);
    return result.rowCount ?? 0;
  }
}

/**
 * PostgreSQL: one pool; every write transaction commits with synchronous_commit
 * on (checked at start). Change-log writers take no common lock: the log is
 * ordered by transaction id (ddl.ts, ARCHITECTURE.md "Change log order"). Other
 * server processes learn of this process's commits by a NOTIFY sent after the
 * commit, outside the writer's transaction, and of a back office's by a poll.
 */
export class PostgresStorage implements Storage {
  readonly dialect = 'postgres' as const;
  readonly capabilities: StorageCapabilities = {
    // PostgreSQL allows 65,535; kept at SQLite's figure so batches split alike on both engines.
    maxParams: 30_000,
    bigint: 'BIGINT',
    multiRowUpsertReturning: true,
    rowLock: 'FOR UPDATE',
    classifyError: classifyDriverError,
    typedParam: (type) => `CAST(? AS ${postgresTypes[type]})`,
    // One array per column: binding ~50,000 parameters of a 5,000-row VALUES list, and
    // parsing and planning it, cost more than the rows' own writes (bench/README.md, push-rows).
    rowSet(types, rows, params, as) {
      const arrays = types.map((type, i) => {
        params.push(rows.map((row) => row[i] ?? null));
        return `CAST(? AS ${postgresTypes[type]}[])`;
      });
      return as === 'values'
        ? `SELECT * FROM unnest(${arrays.join(', ')})`
        : `unnest(${arrays.join(', ')}) AS v(${types.map((_, i) => `column${i + 1}`).join(', ')})`;
    },
    rowSetLimit: () => Number.MAX_SAFE_INTEGER,
    inList(type, values, params) {
      params.push([...values]);
      return `= ANY (CAST(? AS ${postgresTypes[type]}[]))`;
    },
    columnJson,
  };
  private readonly pool: pg.Pool;
  private savepointCounter = 0;
  private readonly commits = new CommitSignal();
  private notifying: Promise<void> | null = null;
  private notifyAgain = false;
  /** How often watchers look at the log head for commits nobody announced (back-office SQL). */
  readonly pollMs: number;

  constructor(
    private readonly connectionString: string,
    options: { schema?: string; max?: number; pollMs?: number; applicationName?: string } = {},
  ) {
    this.pollMs = options.pollMs ?? 250;
    const searchPath = options.schema ? `-c search_path=${options.schema}` : undefined;
    this.pool = new pg.Pool({
      connectionString,
      max: options.max ?? 10,
      types: { getTypeParser: typeParser as typeof pg.types.getTypeParser },
      ...(searchPath ? { options: searchPath } : {}),
      ...(options.applicationName ? { application_name: options.applicationName } : {}),
    });
    // An idle client losing its connection must not crash the server; the next query reports it.
    this.pool.on('error', () => undefined);
  }

  async migrate(schema: SyncSchema): Promise<void> {
    await this.transaction(async (tx) => {
      // Serialize concurrent migrations from several server processes.
      await tx.all(`SELECT pg_advisory_xact_lock(${changeLogLockKey + 1})`);
      for (const ddl of bookkeepingDdl) await tx.run(ddl);
      // Version gate: a log in an order this version does not know is refused, never mixed.
      const order = await tx.all<{ value: string }>(`SELECT value FROM _sync_meta WHERE key = ?`, [
        changeLogOrderKey,
      ]);
      if (order[0] && order[0].value !== changeLogOrder)
        throw new Error(
          `the change log is in order "${order[0].value}", which this pdv-sync version does not know (it writes "${changeLogOrder}"): upgrade pdv-sync`,
        );
      if (!order[0])
        await tx.run(`INSERT INTO _sync_meta (key, value) VALUES (?, ?)`, [
          changeLogOrderKey,
          changeLogOrder,
        ]);
      for (const table of schema.tables) {
        await tx.run(createTableDdl(table));
        for (const c of table.columns) await tx.run(addColumnDdl(table, c.name));
        for (const ddl of await decimalUpgradeDdl(tx, table)) await tx.run(ddl);
        for (const ddl of await storeKeyUpgradeDdl(tx, table)) await tx.run(ddl);
        const index = dropStoreIndexDdl(table);
        if (index) await tx.run(index);
        for (const ddl of triggerDdl(table)) await tx.run(ddl);
      }
    });
  }

  async synchronousCommit(): Promise<string> {
    const rows = await new PostgresExecutor(this.pool).all<{ synchronous_commit: string }>(
      'SHOW synchronous_commit',
    );
    return rows[0]?.synchronous_commit ?? 'unknown';
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const result = await this.inTransaction('BEGIN', fn);
    this.commits.fire();
    this.announce();
    return result;
  }

  /**
   * Tells other server processes that this one committed: a NOTIFY in its own
   * short transaction after the commit (never inside the writer's, where it would
   * serialize every commit on the cluster's notify lock). Coalesced: one at a time,
   * plus one more if commits happened meanwhile.
   */
  private announce(): void {
    if (this.notifying) {
      this.notifyAgain = true;
      return;
    }
    this.notifying = this.pool
      .query(`SELECT pg_notify($1, '')`, [changeNotifyChannel])
      .then(
        () => undefined,
        () => undefined, // Missed: the other processes' poll finds the change anyway.
      )
      .finally(() => {
        this.notifying = null;
        if (this.notifyAgain) {
          this.notifyAgain = false;
          this.announce();
        }
      });
  }

  async savepoint<T>(tx: SqlExecutor, fn: () => Promise<T>): Promise<T> {
    const name = `sp${++this.savepointCounter}`;
    await tx.run(`SAVEPOINT ${name}`);
    try {
      const result = await fn();
      await tx.run(`RELEASE SAVEPOINT ${name}`);
      return result;
    } catch (err) {
      await tx.run(`ROLLBACK TO SAVEPOINT ${name}`);
      throw err;
    }
  }

  read<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.inTransaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', fn);
  }

  bulkRead<T>(fn: (tx: ScanExecutor) => Promise<T>): Promise<T> {
    return this.inTransaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', fn);
  }

  private async inTransaction<T>(begin: string, fn: (tx: ScanExecutor) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query(begin);
      const result = await fn(new PostgresExecutor(client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  encode(type: ColumnType, value: unknown): unknown {
    if (value === null || value === undefined) return null;
    if (type === 'json') return JSON.stringify(value);
    return value;
  }

  decode(type: ColumnType, value: unknown): unknown {
    return decodeCommon(type, value);
  }

  async ping(): Promise<void> {
    await new PostgresExecutor(this.pool).all('SELECT 1');
  }

  async watchCommits(listener: () => void): Promise<() => Promise<void>> {
    const remove = this.commits.add(listener);
    const listen = new CommitListener(this.connectionString, changeNotifyChannel, listener);
    await listen.start();
    // Back-office SQL sends no NOTIFY, and a change becomes servable only when every
    // lower transaction id has ended, which nobody announces: a cheap poll covers both.
    const poll = setInterval(listener, this.pollMs).unref();
    return async () => {
      clearInterval(poll);
      remove();
      await listen.stop();
    };
  }

  async close(): Promise<void> {
    await this.notifying;
    await this.pool.end();
  }
}
