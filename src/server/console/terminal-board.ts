import type {
  DeadLetterItem,
  TerminalBadge,
  TerminalCommand,
  TerminalRow,
  TerminalStatus,
} from '../../protocol/index.js';
import { checksStoreId } from '../../protocol/reserved-stores.js';
import type { Identity } from '../auth/index.js';
import { badgeOf } from '../metrics/server-metrics.js';
import type { Storage } from '../storage/index.js';

/** The store a caller is limited to: null for the admin (every store). */
export function scopeOf(identity: Identity): string | null {
  return identity.role === 'admin' ? null : identity.storeId;
}

/** Worst first: offline, diverged, syncing, idle, synced. */
const badgeRank: Record<TerminalBadge, number> = {
  offline: 0,
  diverged: 1,
  syncing: 2,
  idle: 3,
  synced: 4,
};

const maxTimeline = 200;

type JoinedRow = {
  machine_id: string;
  store_id: string | null;
  state: string;
  backlog: number;
  dead_letters: number;
  conflicts: number;
  last_success_at: string | null;
  last_error: string | null;
  reported_at: string;
  outbox_backlog: number | null;
  oldest_unsent_at: string | null;
  cursor_lag: number | null;
  sdk_version: string | null;
  schema_version: string | null;
  open_conflicts: number | null;
};

/**
 * What terminals report about themselves and what the console asks of them.
 * Owns `_sync_terminal_status`, `_sync_terminal_details`, `_sync_terminal_events`
 * (each terminal's timeline, the newest 200 kept) and `_sync_terminal_commands`
 * (dead-letter actions waiting for the terminal's next report). The reserved
 * checks store never appears in the console.
 */
export class TerminalBoard {
  private readonly listeners = new Set<(row: TerminalRow) => void>();

  constructor(
    private readonly storage: Storage,
    private readonly offlineAfterMs: number,
  ) {}

  /** Called with each terminal's new row after its report is stored. */
  onChange(listener: (row: TerminalRow) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stores one report; answers with the commands the terminal must now carry out. */
  async report(
    identity: Identity,
    body: TerminalStatus,
  ): Promise<{ receivedAt: string; commands: TerminalCommand[] }> {
    const now = new Date().toISOString();
    const storeId = identity.storeId;
    const commands = await this.storage.transaction(async (tx) => {
      const [previous] = await tx.all<{ state: string; last_error: string | null }>(
        `SELECT state, last_error FROM _sync_terminal_status WHERE machine_id = ?`,
        [body.machineId],
      );
      await tx.run(
        `INSERT INTO _sync_terminal_status (machine_id, store_id, state, backlog, dead_letters, conflicts, last_success_at, last_error, reported_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (machine_id) DO UPDATE SET store_id = EXCLUDED.store_id, state = EXCLUDED.state,
           backlog = EXCLUDED.backlog, dead_letters = EXCLUDED.dead_letters, conflicts = EXCLUDED.conflicts,
           last_success_at = EXCLUDED.last_success_at, last_error = EXCLUDED.last_error, reported_at = EXCLUDED.reported_at`,
        [
          body.machineId,
          storeId,
          body.state,
          body.backlog,
          body.deadLetters,
          body.conflicts,
          body.lastSuccessAt,
          body.lastError,
          now,
        ],
      );
      // An older SDK sends none of the details: keep the columns empty rather than guessing.
      await tx.run(
        `INSERT INTO _sync_terminal_details (machine_id, store_id, outbox_backlog, oldest_unsent_at, dead_letter_items, cursor_lag, sdk_version, schema_version, reported_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (machine_id) DO UPDATE SET store_id = EXCLUDED.store_id, outbox_backlog = EXCLUDED.outbox_backlog,
           oldest_unsent_at = EXCLUDED.oldest_unsent_at, dead_letter_items = EXCLUDED.dead_letter_items,
           cursor_lag = EXCLUDED.cursor_lag, sdk_version = EXCLUDED.sdk_version,
           schema_version = EXCLUDED.schema_version, reported_at = EXCLUDED.reported_at`,
        [
          body.machineId,
          storeId,
          body.outboxBacklog ?? null,
          isoOrNull(body.oldestUnsentAt),
          storedDeadLetters(body.deadLetterItems ?? []),
          body.cursorLag ?? null,
          body.sdkVersion ?? null,
          body.schemaVersion ?? null,
          now,
        ],
      );
      if (
        !previous ||
        previous.state !== body.state ||
        (body.lastError !== null && previous.last_error !== body.lastError)
      ) {
        await tx.run(
          `INSERT INTO _sync_terminal_events (machine_id, store_id, kind, detail, created_at) VALUES (?, ?, ?, ?, ?)`,
          [
            body.machineId,
            storeId,
            body.state === 'error' || body.state === 'offline' ? 'error' : 'state',
            JSON.stringify({ state: body.state, error: body.lastError, backlog: body.backlog }),
            now,
          ],
        );
        await tx.run(
          `DELETE FROM _sync_terminal_events WHERE machine_id = ? AND id NOT IN (
             SELECT id FROM (SELECT id FROM _sync_terminal_events WHERE machine_id = ? ORDER BY id DESC LIMIT ${maxTimeline}) AS kept)`,
          [body.machineId, body.machineId],
        );
      }
      const pending = await tx.all<{ id: number; command: string; dead_letter_id: string }>(
        `SELECT id, command, dead_letter_id FROM _sync_terminal_commands
          WHERE machine_id = ? AND status = 'pending' ORDER BY id`,
        [body.machineId],
      );
      if (pending.length > 0)
        await tx.run(
          `UPDATE _sync_terminal_commands SET status = 'delivered', done_at = ?
            WHERE machine_id = ? AND status = 'pending'`,
          [now, body.machineId],
        );
      return pending.map((p) => ({
        id: Number(p.id),
        command: p.command as TerminalCommand['command'],
        deadLetterId: p.dead_letter_id,
      }));
    });
    if (this.listeners.size > 0) {
      const [row] = await this.list(null, body.machineId);
      if (row) for (const l of this.listeners) l(row);
    }
    return { receivedAt: now, commands };
  }

  /** Terminals of one store (or every store but the checks store), grouped by store, worst first. */
  async list(scope: string | null, machineId?: string): Promise<TerminalRow[]> {
    const where = ['(s.store_id IS NULL OR s.store_id <> ?)'];
    const params: unknown[] = [checksStoreId];
    if (scope !== null) {
      where.push('s.store_id = ?');
      params.push(scope);
    }
    if (machineId !== undefined) {
      where.push('s.machine_id = ?');
      params.push(machineId);
    }
    const rows = await this.storage.read((tx) =>
      tx.all<JoinedRow>(
        `SELECT s.machine_id, s.store_id, s.state, s.backlog, s.dead_letters, s.conflicts,
                s.last_success_at, s.last_error, s.reported_at, d.outbox_backlog, d.oldest_unsent_at,
                d.cursor_lag, d.sdk_version, d.schema_version, c.n AS open_conflicts
           FROM _sync_terminal_status s
           LEFT JOIN _sync_terminal_details d ON d.machine_id = s.machine_id
           LEFT JOIN (SELECT machine_id, COUNT(*) AS n FROM _sync_conflicts GROUP BY machine_id) c
             ON c.machine_id = s.machine_id
          WHERE ${where.join(' AND ')}`,
        params,
      ),
    );
    const now = Date.now();
    const out = rows.map((r): TerminalRow => ({
      machineId: r.machine_id,
      storeId: r.store_id,
      state: r.state,
      badge: badgeOf(r.state, r.reported_at, now, this.offlineAfterMs),
      lastSeenAt: r.reported_at,
      lastSuccessAt: r.last_success_at,
      lastError: r.last_error,
      backlog: Number(r.outbox_backlog ?? r.backlog),
      oldestUnsentAt: r.oldest_unsent_at,
      deadLetters: Number(r.dead_letters),
      conflicts: Number(r.conflicts),
      openConflicts: Number(r.open_conflicts ?? 0),
      cursorLag: r.cursor_lag === null ? null : Number(r.cursor_lag),
      sdkVersion: r.sdk_version,
      schemaVersion: r.schema_version,
    }));
    return out.sort(
      (a, b) =>
        String(a.storeId).localeCompare(String(b.storeId)) ||
        badgeRank[a.badge] - badgeRank[b.badge] ||
        a.machineId.localeCompare(b.machineId),
    );
  }

  /** One terminal's row, timeline, dead letters and command history; null when out of scope. */
  async detail(scope: string | null, machineId: string) {
    const [terminal] = await this.list(scope, machineId);
    if (!terminal) return null;
    return this.storage.read(async (tx) => {
      const events = await tx.all<{ id: number; kind: string; detail: string; created_at: string }>(
        `SELECT id, kind, detail, created_at FROM _sync_terminal_events WHERE machine_id = ? ORDER BY id DESC LIMIT ${maxTimeline}`,
        [machineId],
      );
      const [details] = await tx.all<{ dead_letter_items: string }>(
        `SELECT dead_letter_items FROM _sync_terminal_details WHERE machine_id = ?`,
        [machineId],
      );
      const commands = await tx.all<{
        id: number;
        command: string;
        dead_letter_id: string;
        status: string;
        created_at: string;
        done_at: string | null;
      }>(
        `SELECT id, command, dead_letter_id, status, created_at, done_at FROM _sync_terminal_commands
          WHERE machine_id = ? ORDER BY id DESC LIMIT 100`,
        [machineId],
      );
      return {
        terminal,
        timeline: events.map((e) => ({
          id: Number(e.id),
          kind: e.kind,
          at: e.created_at,
          ...(JSON.parse(e.detail) as Record<string, unknown>),
        })),
        deadLetters: details ? (JSON.parse(details.dead_letter_items) as DeadLetterItem[]) : [],
        commands: commands.map((c) => ({
          id: Number(c.id),
          command: c.command,
          deadLetterId: c.dead_letter_id,
          status: c.status,
          createdAt: c.created_at,
          doneAt: c.done_at,
        })),
      };
    });
  }

  /**
   * Queues a dead-letter action for a terminal and writes who asked and why to the
   * audit log, in one transaction. False when the terminal is out of scope or unknown.
   */
  async command(
    scope: string | null,
    actor: string,
    machineId: string,
    deadLetterId: string,
    command: 'resend' | 'discard',
    reason: string,
  ): Promise<number | null> {
    const [terminal] = await this.list(scope, machineId);
    if (!terminal) return null;
    const now = new Date().toISOString();
    return this.storage.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO _sync_terminal_commands (machine_id, store_id, command, dead_letter_id, status, created_at) VALUES (?, ?, ?, ?, 'pending', ?)`,
        [machineId, terminal.storeId, command, deadLetterId, now],
      );
      await tx.run(
        `INSERT INTO _sync_console_audit (actor, store_id, machine_id, action, target, reason, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        [actor, terminal.storeId, machineId, command, `dead-letter:${deadLetterId}`, reason, now],
      );
      await tx.run(
        `INSERT INTO _sync_terminal_events (machine_id, store_id, kind, detail, created_at) VALUES (?, ?, 'command', ?, ?)`,
        [
          machineId,
          terminal.storeId,
          JSON.stringify({ command, deadLetterId, actor, reason }),
          now,
        ],
      );
      const [row] = await tx.all<{ id: number }>(
        `SELECT MAX(id) AS id FROM _sync_terminal_commands WHERE machine_id = ?`,
        [machineId],
      );
      return Number(row?.id ?? 0);
    });
  }

  /** The console's audit log (who did what, and why), newest first. */
  async audit(scope: string | null, limit: number) {
    const rows = await this.storage.read((tx) =>
      tx.all<Record<string, unknown>>(
        `SELECT id, actor, store_id, machine_id, action, target, reason, created_at FROM _sync_console_audit
          ${scope === null ? '' : 'WHERE store_id = ?'} ORDER BY id DESC LIMIT ?`,
        scope === null ? [limit] : [scope, limit],
      ),
    );
    return rows.map((r) => ({
      id: Number(r['id']),
      actor: r['actor'],
      storeId: r['store_id'],
      machineId: r['machine_id'],
      action: r['action'],
      target: r['target'],
      reason: r['reason'],
      createdAt: r['created_at'],
    }));
  }

  /** Writes one audit entry for an action taken outside a terminal (token created, revoked). */
  async note(
    actor: string,
    storeId: string | null,
    action: string,
    target: string,
    reason: string,
  ) {
    await this.storage.transaction((tx) =>
      tx.run(
        `INSERT INTO _sync_console_audit (actor, store_id, machine_id, action, target, reason, created_at) VALUES (?, ?, NULL, ?, ?, ?, ?)`,
        [actor, storeId, action, target, reason, new Date().toISOString()],
      ),
    );
  }
}

/** ISO UTC of an instant, or null for none or one Date cannot represent. */
function isoOrNull(value: string | null | undefined): string | null {
  const ms = value ? Date.parse(value) : NaN;
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

const maxRecordChars = 16_384;

/**
 * The dead letters as stored: a record too large or too deeply nested to
 * serialise is kept as null (the reason and row id still show).
 */
function storedDeadLetters(items: DeadLetterItem[]): string {
  return JSON.stringify(
    items.map((item) => {
      let record = item.record;
      try {
        if (JSON.stringify(record).length > maxRecordChars) record = null;
      } catch {
        record = null;
      }
      return { ...item, record };
    }),
  );
}
