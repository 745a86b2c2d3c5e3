export { createServer, type RunningServer } from './server.js';
export {
  loadServerConfig,
  serverSettingFlags,
  defaultSchemaFile,
  type ServerConfig,
  type ServerConfigInput,
} from './config.js';
export { loadSchema } from './load-schema.js';
export { openStorage, SqliteStorage, PostgresStorage, type Storage } from './storage/index.js';
export type { RouteInfo } from './app.js';
export {
  backupDatabase,
  restoreDatabase,
  verifyBackup,
  type BackupInfo,
  type BackupResult,
  type RestoreResult,
} from './ops/index.js';
