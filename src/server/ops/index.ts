export { readEpoch, startNewEpoch } from './epoch.js';
export { epochRoutes } from './epoch-routes.js';
export { backupDatabase, type BackupInfo, type BackupResult } from './backup.js';
export { restoreDatabase, verifyBackup, type RestoreResult } from './restore.js';
