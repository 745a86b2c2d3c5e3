import { EventEmitter } from 'node:events';
import type { SyncState } from '../protocol/index.js';

export type StatusSnapshot = {
  state: SyncState;
  backlog: number;
  deadLetters: number;
  conflicts: number;
  lastSuccessAt: string | null;
  lastError: string | null;
};

export type Progress = {
  phase: 'push' | 'pull';
  done: number;
  total: number | null;
  tables: string[];
};

export type SyncEvents = {
  status: [StatusSnapshot];
  progress: [Progress];
};

/**
 * The terminal's sync state machine. Transitions:
 * idle|synced|diverged|offline|error --sync starts--> syncing;
 * syncing --success--> synced (or diverged: dead letters, conflicts or a reconcile mismatch);
 * syncing --network error--> offline; syncing --other error--> error.
 */
export class SyncStatus extends EventEmitter<SyncEvents> {
  private snapshot: StatusSnapshot = {
    state: 'idle',
    backlog: 0,
    deadLetters: 0,
    conflicts: 0,
    lastSuccessAt: null,
    lastError: null,
  };

  get current(): StatusSnapshot {
    return { ...this.snapshot };
  }

  update(patch: Partial<StatusSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...patch };
    this.emit('status', this.current);
  }
}
