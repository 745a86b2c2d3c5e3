import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { SyncError } from '../../protocol/index.js';
import { fsyncPath } from './files.js';

/** What a backup file records about the database it copies. */
export type BackupInfo = {
  format: 'pdv-sync-backup';
  version: 1;
  engine: 'sqlite' | 'postgres';
  /** The epoch (database id) of the copied database. */
  databaseId: string;
  /** When the copy was taken (ISO): writes after it are not in the file. */
  takenAt: string;
  /** The change log's head in the copy (PostgreSQL: read just before the dump's snapshot). */
  headSeq: number;
  /** PostgreSQL: the schema dumped, and the SHA-256 of the dump bytes after the header line. */
  pgSchema?: string;
  dumpSha256?: string;
};

export type BackupResult = { file: string; bytes: number; info: BackupInfo };
export type DatabaseTarget = { db: string; pgSchema?: string | undefined };

/** First line of a PostgreSQL backup file; the `pg_dump -Fc` bytes follow it. */
export const pgBackupMagic = 'PDV-SYNC-BACKUP 1 ';

const sqlitePath = (url: string): string => url.slice('sqlite:'.length) || './data/pdv-sync.db';

function failed(message: string, cause?: unknown): SyncError {
  return new SyncError('BACKUP_FAILED', message, cause === undefined ? {} : { cause });
}

/**
 * A consistent copy of the server's database while it runs and writes continue:
 * - SQLite: `VACUUM INTO` a temporary file in the target folder (one read snapshot,
 *   never blocking the writer), the epoch and change-log head recorded inside the copy,
 *   fsync, `PRAGMA integrity_check`, then rename into place;
 * - PostgreSQL: `pg_dump -Fc` of the server's schema behind a one-line JSON header.
 * A reader never sees a half-written file under the final name.
 */
export async function backupDatabase(target: DatabaseTarget, out: string): Promise<BackupResult> {
  const file = resolve(out);
  mkdirSync(dirname(file), { recursive: true });
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  rmSync(tmp, { force: true });
  try {
    const info = target.db.startsWith('sqlite:')
      ? sqliteBackup(sqlitePath(target.db), tmp)
      : await postgresBackup(target, tmp);
    fsyncPath(tmp);
    renameSync(tmp, file);
    fsyncPath(dirname(file), true);
    return { file, bytes: statSync(file).size, info };
  } catch (err) {
    rmSync(tmp, { force: true });
    if (err instanceof SyncError) throw err;
    throw failed(`backup failed: ${err instanceof Error ? err.message : String(err)}`, err);
  }
}

function sqliteBackup(source: string, tmp: string): BackupInfo {
  if (!existsSync(source))
    throw new SyncError('DATABASE_NOT_FOUND', `no server database at ${resolve(source)}`);
  const takenAt = new Date().toISOString();
  const db = new Database(source, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 10000');
    db.prepare('VACUUM INTO ?').run(tmp);
  } finally {
    db.close();
  }
  const copy = new Database(tmp);
  try {
    // Read from the copy itself: its epoch and head are those of the snapshot it holds.
    const id = copy.prepare(`SELECT value FROM _sync_meta WHERE key = 'database_id'`).get() as
      { value: string } | undefined;
    if (!id) throw failed(`${resolve(source)} is not a pdv-sync server database`);
    const head = copy.prepare(`SELECT MAX(seq) AS seq FROM _sync_changes`).get() as {
      seq: number | null;
    };
    const info: BackupInfo = {
      format: 'pdv-sync-backup',
      version: 1,
      engine: 'sqlite',
      databaseId: id.value,
      takenAt,
      headSeq: Number(head.seq ?? 0),
    };
    copy.prepare(`DELETE FROM _sync_meta WHERE key = 'backup_info'`).run();
    copy
      .prepare(`INSERT INTO _sync_meta (key, value) VALUES ('backup_info', ?)`)
      .run(JSON.stringify(info));
    const check = copy.pragma('integrity_check', { simple: true });
    if (check !== 'ok') throw failed(`the copy failed its integrity check: ${String(check)}`);
    return info;
  } finally {
    copy.close();
  }
}

/** Runs a PostgreSQL client tool; a missing binary becomes a clear message. */
export function runPgTool(
  tool: 'pg_dump' | 'pg_restore',
  args: string[],
  options: { stdin?: NodeJS.ReadableStream } = {},
): Promise<string> {
  const bin =
    (tool === 'pg_dump' ? process.env['PDV_SYNC_PG_DUMP'] : process.env['PDV_SYNC_PG_RESTORE']) ??
    tool;
  return new Promise((resolvePromise, reject) => {
    const proc = spawn(bin, args, { stdio: [options.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    proc.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? new SyncError(
              'BACKUP_FAILED',
              `${tool} was not found: install the PostgreSQL client tools (package postgresql-client, the server's major version) or set ${tool === 'pg_dump' ? 'PDV_SYNC_PG_DUMP' : 'PDV_SYNC_PG_RESTORE'} to its path`,
            )
          : failed(`${tool} could not start: ${err.message}`, err),
      ),
    );
    if (options.stdin && proc.stdin) {
      proc.stdin.on('error', () => undefined); // the exit code tells what happened
      options.stdin.pipe(proc.stdin);
    }
    proc.once('close', (code) =>
      code === 0
        ? resolvePromise(stdout)
        : reject(failed(`${tool} exited with ${code}: ${stderr.trim().slice(0, 2000)}`)),
    );
  });
}

/** A libpq connection string without the options libpq does not know (node-pg's own). */
export function libpqUrl(url: string): string {
  const u = new URL(url);
  for (const key of [...u.searchParams.keys()])
    if (
      ![
        'sslmode',
        'sslrootcert',
        'sslcert',
        'sslkey',
        'application_name',
        'connect_timeout',
      ].includes(key)
    )
      u.searchParams.delete(key);
  return u.toString();
}

async function postgresBackup(target: DatabaseTarget, tmp: string): Promise<BackupInfo> {
  const schema = target.pgSchema ?? 'public';
  const client = new pg.Client({
    connectionString: target.db,
    options: `-c search_path=${schema}`,
  });
  await client.connect();
  let info: BackupInfo;
  try {
    const takenAt = new Date().toISOString();
    const id = await client.query<{ value: string }>(
      `SELECT value FROM _sync_meta WHERE key = 'database_id'`,
    );
    if (!id.rows[0]) throw failed(`schema ${schema} holds no pdv-sync server database`);
    // The PostgreSQL log orders by (xid, tx_seq); tx_seq alone still grows with every change.
    const head = await client.query<{ seq: string | null }>(
      `SELECT MAX(tx_seq) AS seq FROM _sync_changes`,
    );
    info = {
      format: 'pdv-sync-backup',
      version: 1,
      engine: 'postgres',
      databaseId: id.rows[0].value,
      takenAt,
      headSeq: Number(head.rows[0]?.seq ?? 0),
      pgSchema: schema,
    };
  } finally {
    await client.end();
  }
  const dump = `${tmp}.dump`;
  try {
    await runPgTool('pg_dump', [
      '--format=custom',
      '--no-owner',
      '--no-privileges',
      `--schema=${schema}`,
      `--file=${dump}`,
      `--dbname=${libpqUrl(target.db)}`,
    ]);
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(dump)) hash.update(chunk as Buffer);
    info.dumpSha256 = hash.digest('hex');
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, `${pgBackupMagic}${JSON.stringify(info)}\n`);
      const input = openSync(dump, 'r');
      try {
        const buf = Buffer.alloc(1 << 20);
        for (;;) {
          const n = readSync(input, buf, 0, buf.length, null);
          if (n === 0) break;
          let off = 0;
          while (off < n) off += writeSync(fd, buf, off, n - off);
        }
      } finally {
        closeSync(input);
      }
    } finally {
      closeSync(fd);
    }
  } finally {
    rmSync(dump, { force: true });
  }
  return info;
}
