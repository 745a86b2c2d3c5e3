import { SyncError } from '../../protocol/index.js';
import { PostgresStorage } from './postgres/postgres-storage.js';
import { SqliteStorage } from './sqlite/sqlite-storage.js';
import type { Storage } from './storage.js';

/** `sqlite:PATH` (or `sqlite::memory:`) or a `postgres://` / `postgresql://` URL. */
export function openStorage(
  url: string,
  options: { pgSchema?: string; applicationName?: string } = {},
): Storage {
  if (url.startsWith('sqlite:'))
    return new SqliteStorage(url.slice('sqlite:'.length) || './data/pdv-sync.db');
  if (/^postgres(ql)?:\/\//.test(url))
    return new PostgresStorage(url, {
      ...(options.pgSchema ? { schema: options.pgSchema } : {}),
      ...(options.applicationName ? { applicationName: options.applicationName } : {}),
    });
  throw new SyncError(
    'CONFIG_INVALID',
    `--db must be sqlite:PATH or a postgres:// URL, got "${url}"`,
  );
}
