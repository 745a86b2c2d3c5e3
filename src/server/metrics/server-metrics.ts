import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { terminalBadges, type TerminalBadge } from '../../protocol/console.js';
import { checksStoreId } from '../../protocol/reserved-stores.js';
import type { Storage } from '../storage/index.js';

/** The badge of a reported state, once silence is taken into account. */
export function badgeOf(
  state: string,
  reportedAt: string,
  now: number,
  offlineAfterMs: number,
): TerminalBadge {
  const silent = now - Date.parse(reportedAt) > offlineAfterMs;
  if (silent || state === 'offline' || state === 'error') return 'offline';
  if (state === 'idle' || state === 'syncing' || state === 'synced' || state === 'diverged')
    return state;
  return 'offline';
}

export type MetricsSources = {
  storage: Storage;
  offlineAfterMs: number;
  agentWindowSeconds: number;
  liveConnections(): number;
};

const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The server's Prometheus metrics, in a registry of its own (several servers may
 * share a process in tests). Names are stable: dashboards and alert rules depend
 * on them. Gauges read from the database are refreshed once per scrape; the
 * reserved checks store is never counted.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  private readonly terminals = new Gauge({
    name: 'pdvsync_terminals',
    help: 'Terminals by console state (idle, syncing, synced, diverged, offline)',
    labelNames: ['state'],
    registers: [this.registry],
  });
  private readonly oldestUnsent = new Gauge({
    name: 'pdvsync_oldest_unsent_age_seconds',
    help: 'Age of the oldest outbox entry not yet delivered, over every terminal that reported one',
    registers: [this.registry],
  });
  private readonly outboxBacklog = new Gauge({
    name: 'pdvsync_outbox_backlog',
    help: 'Outbox entries waiting on every terminal, as last reported',
    registers: [this.registry],
  });
  private readonly deadLetters = new Gauge({
    name: 'pdvsync_dead_letters',
    help: 'Dead letters held by terminals, as last reported',
    registers: [this.registry],
  });
  private readonly conflicts = new Gauge({
    name: 'pdvsync_conflicts',
    help: 'Conflicts in the server conflict log',
    registers: [this.registry],
  });
  private readonly reconcileMismatches = new Gauge({
    name: 'pdvsync_reconcile_mismatches',
    help: 'Mismatched tables in the latest reconciliation of each terminal',
    registers: [this.registry],
  });
  private readonly liveConnections = new Gauge({
    name: 'pdvsync_live_connections',
    help: 'Open WebSocket connections',
    registers: [this.registry],
  });
  private readonly agentLag = new Gauge({
    name: 'pdvsync_agent_lag_seconds',
    help: 'Time since the end of the newest window an agent delivered, per store',
    labelNames: ['store_id'],
    registers: [this.registry],
  });
  private readonly agentWindowsBehind = new Gauge({
    name: 'pdvsync_agent_windows_behind',
    help: 'Whole agent windows missing since the newest delivered one, per store',
    labelNames: ['store_id'],
    registers: [this.registry],
  });
  /** Set by the change log's owner: how long a committed change takes to become readable by a cursor. */
  readonly changeLogVisibilityLag = new Gauge({
    name: 'pdvsync_change_log_visibility_lag_seconds',
    help: 'Delay between a commit and its visibility to change-log readers',
    registers: [this.registry],
  });
  readonly pushes = new Counter({
    name: 'pdvsync_push_requests_total',
    help: 'Push requests answered, by HTTP status class',
    labelNames: ['status'],
    registers: [this.registry],
  });
  readonly pulls = new Counter({
    name: 'pdvsync_pull_requests_total',
    help: 'Pull requests answered, by HTTP status class',
    labelNames: ['status'],
    registers: [this.registry],
  });
  readonly pushLatency = new Histogram({
    name: 'pdvsync_push_duration_seconds',
    help: 'Push request latency',
    buckets: latencyBuckets,
    registers: [this.registry],
  });
  readonly pullLatency = new Histogram({
    name: 'pdvsync_pull_duration_seconds',
    help: 'Pull request latency',
    buckets: latencyBuckets,
    registers: [this.registry],
  });

  constructor(private readonly sources: MetricsSources) {}

  /** Hook for the change log owner (engineer of the change feed): seconds of visibility lag. */
  setChangeLogVisibilityLag(seconds: number): void {
    this.changeLogVisibilityLag.set(seconds);
  }

  /** Records one answered request; `kind` comes from the route. */
  observe(kind: 'push' | 'pull', statusCode: number, seconds: number): void {
    const status = `${Math.floor(statusCode / 100)}xx`;
    if (kind === 'push') {
      this.pushes.inc({ status });
      this.pushLatency.observe(seconds);
    } else {
      this.pulls.inc({ status });
      this.pullLatency.observe(seconds);
    }
  }

  /** The text exposition, after refreshing the gauges read from the database. */
  async render(): Promise<string> {
    await this.refresh();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private async refresh(): Promise<void> {
    const now = Date.now();
    const { storage } = this.sources;
    const data = await storage.read(async (tx) => ({
      terminals: await tx.all<{
        state: string;
        reported_at: string;
        backlog: number;
        dead_letters: number;
      }>(
        `SELECT state, reported_at, backlog, dead_letters FROM _sync_terminal_status
          WHERE store_id IS NULL OR store_id <> ?`,
        [checksStoreId],
      ),
      oldest: await tx.all<{ oldest: string | null }>(
        `SELECT MIN(d.oldest_unsent_at) AS oldest FROM _sync_terminal_details d
          WHERE d.oldest_unsent_at IS NOT NULL AND (d.store_id IS NULL OR d.store_id <> ?)`,
        [checksStoreId],
      ),
      conflicts: await tx.all<{ n: number }>(
        `SELECT COUNT(*) AS n FROM _sync_conflicts WHERE store_id IS NULL OR store_id <> ?`,
        [checksStoreId],
      ),
      mismatches: await tx.all<{ n: number | null }>(
        `SELECT SUM(mismatches_count) AS n FROM _sync_reconciliations
          WHERE id IN (SELECT MAX(id) FROM _sync_reconciliations GROUP BY machine_id)
            AND (store_id IS NULL OR store_id <> ?)`,
        [checksStoreId],
      ),
      agents: await tx.all<{ store_id: string; latest_window_to: string | null }>(
        `SELECT store_id, latest_window_to FROM _sync_ingest_stores WHERE store_id <> ?`,
        [checksStoreId],
      ),
    }));
    const byBadge = new Map<TerminalBadge, number>(terminalBadges.map((b) => [b, 0]));
    let backlog = 0;
    let dead = 0;
    for (const t of data.terminals) {
      const badge = badgeOf(t.state, t.reported_at, now, this.sources.offlineAfterMs);
      byBadge.set(badge, (byBadge.get(badge) ?? 0) + 1);
      backlog += Number(t.backlog);
      dead += Number(t.dead_letters);
    }
    for (const [state, n] of byBadge) this.terminals.set({ state }, n);
    this.outboxBacklog.set(backlog);
    this.deadLetters.set(dead);
    const oldest = data.oldest[0]?.oldest;
    this.oldestUnsent.set(oldest ? Math.max(0, (now - Date.parse(oldest)) / 1000) : 0);
    this.conflicts.set(Number(data.conflicts[0]?.n ?? 0));
    this.reconcileMismatches.set(Number(data.mismatches[0]?.n ?? 0));
    this.liveConnections.set(this.sources.liveConnections());
    this.agentLag.reset();
    this.agentWindowsBehind.reset();
    for (const a of data.agents) {
      if (!a.latest_window_to) continue;
      const lag = Math.max(0, (now - Date.parse(a.latest_window_to)) / 1000);
      this.agentLag.set({ store_id: a.store_id }, lag);
      this.agentWindowsBehind.set(
        { store_id: a.store_id },
        Math.floor(lag / this.sources.agentWindowSeconds),
      );
    }
  }
}
