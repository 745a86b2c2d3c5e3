import { ExponentialBackoff, handleAll, retry } from 'cockatiel';
import type { Logger } from 'pino';
import type { Alert, AlertKind } from '../../protocol/console.js';
import { checksStoreId } from '../../protocol/reserved-stores.js';
import type { TerminalBoard } from '../console/terminal-board.js';
import type { Storage } from '../storage/index.js';

export type AlertThresholds = {
  webhookUrl: string | undefined;
  offlineMinutes: number;
  oldestUnsentMinutes: number;
  agentWindowsBehind: number;
  agentWindowSeconds: number;
  checkSeconds: number;
};

type Condition = Omit<Alert, 'id' | 'createdAt' | 'deliveredAt' | 'resolvedAt'> & { key: string };

/**
 * Watches terminals and agents against the configured thresholds. Each condition
 * (one kind on one terminal or store) raises one alert while it holds, resolved
 * when it clears; a new alert is POSTed as JSON to the webhook, retried with
 * exponential backoff (cockatiel) up to five times. Owns `_sync_alerts`.
 */
export class AlertMonitor {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly listeners = new Set<(alert: Alert) => void>();
  private readonly policy = retry(handleAll, {
    maxAttempts: 4,
    backoff: new ExponentialBackoff({ initialDelay: 200, maxDelay: 5_000 }),
  });

  constructor(
    private readonly storage: Storage,
    private readonly terminals: TerminalBoard,
    private readonly thresholds: AlertThresholds,
    private readonly logger: Logger,
  ) {}

  onAlert(listener: (alert: Alert) => void): void {
    this.listeners.add(listener);
  }

  start(): void {
    this.timer = setInterval(() => void this.check(), this.thresholds.checkSeconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  /** One evaluation (the timer calls it; tests call it directly). */
  check(): Promise<void> {
    this.running ??= this.evaluate()
      .catch((err: unknown) => this.logger.warn({ err }, 'alert check failed'))
      .finally(() => (this.running = null));
    return this.running;
  }

  /** Recent alerts (of one store when scoped), newest first. */
  async recent(scope: string | null, limit: number): Promise<Alert[]> {
    const rows = await this.storage.read((tx) =>
      tx.all<Record<string, unknown>>(
        `SELECT * FROM _sync_alerts ${scope === null ? '' : 'WHERE store_id = ?'} ORDER BY id DESC LIMIT ?`,
        scope === null ? [limit] : [scope, limit],
      ),
    );
    return rows.map(toAlert);
  }

  private async conditions(): Promise<Condition[]> {
    const now = Date.now();
    const t = this.thresholds;
    const out: Condition[] = [];
    for (const row of await this.terminals.list(null)) {
      const who = { storeId: row.storeId, machineId: row.machineId };
      const silentMs = now - Date.parse(row.lastSeenAt);
      if (silentMs > t.offlineMinutes * 60_000)
        out.push({
          ...who,
          kind: 'terminal-offline',
          key: `terminal-offline:${row.machineId}`,
          message: `terminal ${row.machineId} not heard from for ${Math.round(silentMs / 60_000)} min`,
          details: { lastSeenAt: row.lastSeenAt },
        });
      if (
        row.oldestUnsentAt &&
        now - Date.parse(row.oldestUnsentAt) > t.oldestUnsentMinutes * 60_000
      )
        out.push({
          ...who,
          kind: 'outbox-stale',
          key: `outbox-stale:${row.machineId}`,
          message: `terminal ${row.machineId} has unsent entries since ${row.oldestUnsentAt}`,
          details: { oldestUnsentAt: row.oldestUnsentAt, backlog: row.backlog },
        });
      if (row.deadLetters > 0)
        out.push({
          ...who,
          kind: 'dead-letters',
          key: `dead-letters:${row.machineId}`,
          message: `terminal ${row.machineId} holds ${row.deadLetters} dead letter(s)`,
          details: { deadLetters: row.deadLetters },
        });
    }
    const data = await this.storage.read(async (tx) => ({
      reconciliations: await tx.all<{
        id: number;
        machine_id: string;
        store_id: string | null;
        mismatches_count: number;
      }>(
        `SELECT id, machine_id, store_id, mismatches_count FROM _sync_reconciliations
          WHERE id IN (SELECT MAX(id) FROM _sync_reconciliations GROUP BY machine_id)
            AND mismatches_count > 0 AND (store_id IS NULL OR store_id <> ?)`,
        [checksStoreId],
      ),
      agents: await tx.all<{ store_id: string; latest_window_to: string | null }>(
        `SELECT store_id, latest_window_to FROM _sync_ingest_stores WHERE store_id <> ?`,
        [checksStoreId],
      ),
    }));
    for (const r of data.reconciliations)
      out.push({
        storeId: r.store_id,
        machineId: r.machine_id,
        kind: 'reconcile-divergent',
        key: `reconcile-divergent:${r.machine_id}:${Number(r.id)}`,
        message: `reconciliation of ${r.machine_id} found ${Number(r.mismatches_count)} divergent table(s)`,
        details: { reconciliationId: Number(r.id), mismatches: Number(r.mismatches_count) },
      });
    for (const a of data.agents) {
      if (!a.latest_window_to) continue;
      const behind = Math.floor(
        (now - Date.parse(a.latest_window_to)) / 1000 / t.agentWindowSeconds,
      );
      if (behind >= t.agentWindowsBehind)
        out.push({
          storeId: a.store_id,
          machineId: null,
          kind: 'agent-behind',
          key: `agent-behind:${a.store_id}`,
          message: `agent of store ${a.store_id} is ${behind} window(s) behind`,
          details: { latestWindowTo: a.latest_window_to, windowsBehind: behind },
        });
    }
    return out;
  }

  private async evaluate(): Promise<void> {
    const current = await this.conditions();
    const keys = new Set(current.map((c) => c.key));
    const now = new Date().toISOString();
    const raised = await this.storage.transaction(async (tx) => {
      const open = await tx.all<{ id: number; key: string }>(
        `SELECT id, key FROM _sync_alerts WHERE resolved_at IS NULL`,
      );
      const openKeys = new Set(open.map((o) => o.key));
      for (const o of open)
        if (!keys.has(o.key))
          await tx.run(`UPDATE _sync_alerts SET resolved_at = ? WHERE id = ?`, [now, o.id]);
      const fresh: Alert[] = [];
      for (const c of current) {
        if (openKeys.has(c.key)) continue;
        await tx.run(
          `INSERT INTO _sync_alerts (kind, key, store_id, machine_id, message, details, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
          [c.kind, c.key, c.storeId, c.machineId, c.message, JSON.stringify(c.details), now],
        );
        const [row] = await tx.all<Record<string, unknown>>(
          `SELECT * FROM _sync_alerts WHERE key = ? ORDER BY id DESC LIMIT 1`,
          [c.key],
        );
        if (row) fresh.push(toAlert(row));
      }
      return fresh;
    });
    for (const alert of raised) {
      for (const l of this.listeners) l(alert);
      this.logger.warn({ alert: alert.kind, machineId: alert.machineId }, alert.message);
      void this.deliver(alert);
    }
  }

  private async deliver(alert: Alert): Promise<void> {
    const url = this.thresholds.webhookUrl;
    if (!url) return;
    let attempts = 0;
    try {
      await this.policy.execute(async () => {
        attempts++;
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ source: 'pdv-sync', alert }),
          signal: AbortSignal.timeout(5_000),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (!res.ok) throw new Error(`webhook answered ${res.status}`);
      });
      await this.storage.transaction((tx) =>
        tx.run(`UPDATE _sync_alerts SET delivered_at = ?, attempts = ? WHERE id = ?`, [
          new Date().toISOString(),
          attempts,
          alert.id,
        ]),
      );
    } catch (err) {
      this.logger.warn({ err: String(err), alert: alert.id, attempts }, 'alert webhook failed');
      await this.storage
        .transaction((tx) =>
          tx.run(`UPDATE _sync_alerts SET attempts = ? WHERE id = ?`, [attempts, alert.id]),
        )
        .catch(() => undefined);
    }
  }
}

function toAlert(r: Record<string, unknown>): Alert {
  return {
    id: Number(r['id']),
    kind: r['kind'] as AlertKind,
    storeId: (r['store_id'] as string | null) ?? null,
    machineId: (r['machine_id'] as string | null) ?? null,
    message: String(r['message']),
    details: JSON.parse(String(r['details'])) as Record<string, unknown>,
    createdAt: String(r['created_at']),
    deliveredAt: (r['delivered_at'] as string | null) ?? null,
    resolvedAt: (r['resolved_at'] as string | null) ?? null,
  };
}
