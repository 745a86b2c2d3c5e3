export { PushService, type PushOptions } from './push-service.js';
export { summarize } from './push/results.js';
export { idempotencyKeys } from './push/idempotency.js';
export { tableFormMutations } from './push/forms.js';
export { ChangeFeed, readableTables } from './change-feed.js';
export { ConflictLog, type StoredConflict } from './conflict-log.js';
export { SyncMeta } from './sync-meta.js';
export { purgeExpired, type RetentionOptions } from './retention.js';
export { Activity } from './activity.js';
export { decodeRow } from './row-codec.js';
export { Reconciler } from './reconciler.js';
export { RowReconciler } from './row-reconciler.js';
export {
  ChangeLog,
  changeLogOf,
  changeLogVisibility,
  VisibilityMonitor,
  type ChangeEntry,
  type LogQuery,
  type LogVisibility,
} from './change-log.js';
