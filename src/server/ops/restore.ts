import { createHash } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  createReadStream,
  existsSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { SyncError } from '../../protocol/index.js';
import { openStorage } from '../storage/index.js';
import {
  libpqUrl,
  pgBackupMagic,
  runPgTool,
  type BackupInfo,
  type DatabaseTarget,
} from './backup.js';
import { startNewEpoch } from './epoch.js';
import { fsyncPath } from './files.js';
import { assertNotInUse } from './running-server.js';

export type RestoreResult = { info: BackupInfo; newDatabaseId: string };

const invalid = (file: string, why: string): SyncError =>
  new SyncError('BACKUP_INVALID', `${file} is not a usable pdv-sync backup: ${why}`);

const refused = (message: string): SyncError => new SyncError('RESTORE_REFUSED', message);

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** The header of a PostgreSQL backup file and where the dump bytes start. */
function readPgHeader(file: string): { info: BackupInfo; offset: number } | null {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const head = buf.subarray(0, n);
    if (!head.subarray(0, pgBackupMagic.length).equals(Buffer.from(pgBackupMagic))) return null;
    const nl = head.indexOf(0x0a);
    if (nl < 0) throw invalid(file, 'its header line is cut');
    const info = JSON.parse(head.subarray(pgBackupMagic.length, nl).toString('utf8')) as BackupInfo;
    return { info, offset: nl + 1 };
  } finally {
    closeSync(fd);
  }
}

/**
 * Checks a backup file before anything in the target is touched: SQLite — integrity
 * check and the recorded epoch; PostgreSQL — the header, the dump's SHA-256 and
 * `pg_restore --list`.
 */
export async function verifyBackup(path: string): Promise<BackupInfo> {
  const file = resolve(path);
  if (!existsSync(file)) throw invalid(file, 'the file does not exist');
  let pgHeader: { info: BackupInfo; offset: number } | null;
  try {
    pgHeader = readPgHeader(file);
  } catch (err) {
    if (err instanceof SyncError) throw err;
    throw invalid(file, 'its header is not readable');
  }
  if (pgHeader) {
    const { info, offset } = pgHeader;
    if (info.format !== 'pdv-sync-backup' || info.engine !== 'postgres' || !info.dumpSha256)
      throw invalid(file, 'its header is not a pdv-sync PostgreSQL backup');
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(file, { start: offset }))
      hash.update(chunk as Buffer);
    if (hash.digest('hex') !== info.dumpSha256)
      throw invalid(
        file,
        'its content does not match the checksum recorded when it was taken (truncated or altered)',
      );
    await runPgTool('pg_restore', ['--list'], { stdin: createReadStream(file, { start: offset }) });
    return info;
  }
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw invalid(file, (err as Error).message);
  }
  try {
    const check = db.pragma('integrity_check', { simple: true });
    if (check !== 'ok') throw invalid(file, `integrity check: ${String(check)}`);
    const row = db.prepare(`SELECT value FROM _sync_meta WHERE key = 'backup_info'`).get() as
      { value: string } | undefined;
    if (!row) throw invalid(file, 'it records no backup information (not made by pdv-sync backup)');
    return JSON.parse(row.value) as BackupInfo;
  } catch (err) {
    if (err instanceof SyncError) throw err;
    throw invalid(file, (err as Error).message);
  } finally {
    db.close();
  }
}

/**
 * Restores a backup into the server's database (the server stopped). Refuses a
 * target a server still uses, and one that holds data unless `force`; verifies the file first; gives the
 * restored database a new epoch and records `restored_from` (the backup's epoch,
 * when it was taken and its change-log head), so terminals and agents re-send
 * what they delivered after the backup.
 */
export async function restoreDatabase(
  path: string,
  target: DatabaseTarget,
  options: { force?: boolean } = {},
): Promise<RestoreResult> {
  const info = await verifyBackup(path);
  const from = { databaseId: info.databaseId, takenAt: info.takenAt, headSeq: info.headSeq };
  if (target.db.startsWith('sqlite:')) {
    if (info.engine !== 'sqlite')
      throw refused('this is a PostgreSQL backup; the target (--db) is SQLite');
    const dest = resolve(target.db.slice('sqlite:'.length) || './data/pdv-sync.db');
    await assertNotInUse(target, dest);
    if (existsSync(dest) && !options.force && sqliteHasData(dest))
      throw refused(
        `${dest} already holds a database: stop the server and pass --force to replace it`,
      );
    const tmp = join(dirname(dest), `.${basename(dest)}.${process.pid}.restore.tmp`);
    rmSync(tmp, { force: true });
    try {
      copyFileSync(resolve(path), tmp);
      const storage = openStorage(`sqlite:${tmp}`);
      let newDatabaseId: string;
      try {
        newDatabaseId = await storage.transaction((tx) => startNewEpoch(tx, from));
      } finally {
        await storage.close();
      }
      for (const suffix of ['-wal', '-shm', '-journal']) rmSync(`${tmp}${suffix}`, { force: true });
      fsyncPath(tmp);
      // The old database's WAL must not be replayed onto the restored file.
      for (const suffix of ['', '-wal', '-shm', '-journal'])
        rmSync(`${dest}${suffix}`, { force: true });
      renameSync(tmp, dest);
      fsyncPath(dirname(dest), true);
      return { info, newDatabaseId };
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  }
  if (info.engine !== 'postgres')
    throw refused('this is a SQLite backup; the target (--db) is PostgreSQL');
  await assertNotInUse(target, '');
  return restorePostgres(path, info, target, options.force === true);
}

function sqliteHasData(file: string): boolean {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const row = db
      .prepare(`SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table'`)
      .get() as { n: number };
    return row.n > 0;
  } finally {
    db.close();
  }
}

async function restorePostgres(
  path: string,
  info: BackupInfo,
  target: DatabaseTarget,
  force: boolean,
): Promise<RestoreResult> {
  const source = info.pgSchema ?? 'public';
  const dest = target.pgSchema ?? 'public';
  const admin = new pg.Client({ connectionString: target.db });
  await admin.connect();
  const tablesIn = async (schema: string) =>
    Number(
      (
        await admin.query<{ n: string }>(
          `SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = $1`,
          [schema],
        )
      ).rows[0]?.n ?? 0,
    );
  try {
    if ((await tablesIn(dest)) > 0 && !force)
      throw refused(
        `schema ${dest} already holds a database: stop the server and pass --force to replace it`,
      );
    if (source !== dest && (await tablesIn(source)) > 0)
      throw refused(
        `the backup restores through schema ${source}, which holds data in the target database: restore into that schema or drop it first`,
      );
    await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(dest)} CASCADE`);
    if (source !== dest) await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(source)} CASCADE`);
    const offset = readPgHeader(resolve(path))!.offset;
    await runPgTool(
      'pg_restore',
      [
        '--no-owner',
        '--no-privileges',
        '--exit-on-error',
        '--single-transaction',
        `--dbname=${libpqUrl(target.db)}`,
      ],
      { stdin: createReadStream(resolve(path), { start: offset }) },
    );
    if (source !== dest)
      await admin.query(`ALTER SCHEMA ${quoteIdent(source)} RENAME TO ${quoteIdent(dest)}`);
  } finally {
    await admin.end();
  }
  const storage = openStorage(target.db, { pgSchema: dest });
  try {
    const newDatabaseId = await storage.transaction((tx) =>
      startNewEpoch(tx, {
        databaseId: info.databaseId,
        takenAt: info.takenAt,
        headSeq: info.headSeq,
      }),
    );
    return { info, newDatabaseId };
  } finally {
    await storage.close();
  }
}
