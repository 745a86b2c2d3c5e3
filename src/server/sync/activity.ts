import type { Identity } from '../auth/index.js';

/**
 * Push/pull counts and last-seen times, counted in memory and flushed in one
 * write every few seconds, so a pull never costs an fsync.
 */
export class Activity {
  private pending = new Map<string, { lastSeen: string; pushes: number; pulls: number }>();
  readonly totals = { pushes: 0, pulls: 0, mutations: 0, changesServed: 0 };

  note(identity: Identity, kind: 'push' | 'pull', count: number): void {
    const entry = this.pending.get(identity.tokenHash) ?? { lastSeen: '', pushes: 0, pulls: 0 };
    entry.lastSeen = new Date().toISOString();
    if (kind === 'push') {
      entry.pushes++;
      this.totals.pushes++;
      this.totals.mutations += count;
    } else {
      entry.pulls++;
      this.totals.pulls++;
      this.totals.changesServed += count;
    }
    this.pending.set(identity.tokenHash, entry);
  }

  take(): Map<string, { lastSeen: string; pushes: number; pulls: number }> {
    const taken = this.pending;
    this.pending = new Map();
    return taken;
  }
}
