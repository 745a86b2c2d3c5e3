export {
  SyncManager,
  syncAllTables,
  type SyncSummary,
  type LocalConflict,
  type SendResult,
  type Rejection,
} from './sync-manager.js';
export {
  SyncClient,
  initSyncClient,
  type InitSyncClientOptions,
  type DivergenceStrategy,
  type ReconcileSettings,
} from './sync-client.js';
export { resolveSyncOptions, type SyncOptions, type SyncOptionsInput } from './client-options.js';
export { SyncHttpError, NetworkError } from './sync-http-error.js';
export type { StatusSnapshot, Progress } from './sync-status.js';
export { LocalStore } from './local-store.js';
export { LiveLink, type LiveState, type LiveLinkOptions } from './live-link.js';
