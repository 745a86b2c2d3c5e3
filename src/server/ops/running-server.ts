import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import pg from 'pg';
import { SyncError } from '../../protocol/index.js';
import type { DatabaseTarget } from './backup.js';

/**
 * The PostgreSQL `application_name` of a server's connections to one schema: how a restore
 * finds a server still using its target (names are cut at PostgreSQL's 63 bytes, alike on
 * both sides of the comparison).
 */
export function serverApplicationName(schema: string | undefined): string {
  return Buffer.from(`pdv-sync-server:${schema ?? 'public'}`)
    .subarray(0, 63)
    .toString('utf8')
    .replace(/\uFFFD+$/, '');
}

/**
 * Refuses to go on while a server (or any other program) uses the target database: replacing a
 * SQLite file under a running server sends its later writes to a deleted file, and a PostgreSQL
 * schema dropped under it fails every request. A server killed without a clean stop holds nothing:
 * the operating system releases its locks and PostgreSQL its connections.
 */
export async function assertNotInUse(target: DatabaseTarget, file: string): Promise<void> {
  if (target.db.startsWith('sqlite:')) {
    if (existsSync(file) && sqliteInUse(file))
      throw new SyncError(
        'RESTORE_REFUSED',
        `${file} is open in another process (a running server?): stop it before restoring`,
      );
    return;
  }
  const client = new pg.Client({ connectionString: target.db });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number; client_addr: string | null }>(
      `SELECT pid, client_addr::text AS client_addr FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = $1 AND pid <> pg_backend_pid()`,
      [serverApplicationName(target.pgSchema)],
    );
    if (rows.length > 0)
      throw new SyncError(
        'RESTORE_REFUSED',
        `a pdv-sync server is connected to schema ${target.pgSchema ?? 'public'} (${rows.length} connection(s), from ${[...new Set(rows.map((r) => r.client_addr ?? 'local socket'))].join(', ')}): stop it before restoring`,
        { details: { connections: rows.length } },
      );
  } finally {
    await client.end();
  }
}

/**
 * Whether another connection has the SQLite file open. In WAL mode every open connection holds a
 * shared lock on the shared-memory file; exclusive locking mode needs it alone, so it is refused
 * at once (no busy wait) while anyone else has the database open, idle or not.
 */
function sqliteInUse(file: string): boolean {
  const db = new Database(file, { fileMustExist: true, timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE; COMMIT');
    return false;
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith('SQLITE_BUSY')) return true;
    throw err;
  } finally {
    db.close();
  }
}
