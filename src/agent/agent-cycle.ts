import type { Logger } from 'pino';
import { SyncError, type AgentPayload } from '../protocol/index.js';
import type { AgentConfig } from './agent-config.js';
import type { Delivery } from './delivery.js';
import { extractChannel, queryParams, type ChannelRows } from './extract.js';
import { toIsoWithOffset } from './local-time.js';
import type { Outbox, OutboxEntry } from './outbox.js';
import { buildPayload } from './payload-builder.js';
import type { QuerySet, SourceName } from './queries/query-set.js';
import type { SourceDb } from './sources/source-db.js';
import { readState, writeState, type AgentState } from './state-file.js';
import { readEpochFile, writeEpochFile } from './epoch-file.js';
import { resendMarginMs } from '../protocol/index.js';
import { floorToSecond, horizon, nextWindow, type SyncWindow } from './window.js';

export type AgentCycleDeps = {
  config: Pick<
    AgentConfig,
    | 'storeIdPontoVenda'
    | 'storeIdFilial'
    | 'utcOffset'
    | 'intervalMs'
    | 'maxWindowMs'
    | 'safetyLagMs'
    | 'startFrom'
    | 'maxAttempts'
    | 'maxPayloadBytes'
  > &
    Partial<Pick<AgentConfig, 'deliveredRetentionMs'>>;
  sources: Record<SourceName, SourceDb>;
  queries: QuerySet;
  outbox: Outbox;
  delivery: Delivery;
  statePath: string;
  logger: Logger;
  now?: () => number;
};

/** What one cycle did. */
export type CycleReport = {
  windows: number;
  backfills: number;
  delivered: number;
  failed: number;
  deadLettered: number;
  /** Files still in the outbox. */
  backlog: number;
  /** Delivered files queued again because the server was restored from a backup. */
  resent: number;
  /** End of the last window made durable (ISO with the store offset). */
  lastSyncTo: string;
  errors: string[];
};

/** The pdv-sync server's `{status: 'stored' | 'duplicate', vendas, turnos}`, when the webhook answers JSON. */
function answerOf(body: string): unknown {
  try {
    const json = JSON.parse(body) as Record<string, unknown>;
    return { status: json['status'], vendas: json['vendas'], turnos: json['turnos'] };
  } catch {
    return undefined;
  }
}

const sourceError = (source: SourceName, err: unknown): SyncError =>
  err instanceof SyncError
    ? err
    : new SyncError(
        'AGENT_SOURCE_UNAVAILABLE',
        `${source}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err, details: { source } },
      );

/**
 * One cycle of the agent (seed 001): drain the outbox oldest first; read every
 * window due since `last_sync_to` (several bounded windows after downtime);
 * build, validate and queue each payload; deliver.
 *
 * Crash-safety contract — never skip a window, never make a second window of the same time:
 * 1. A window's payload is written to the outbox durably (fsync + rename + fsync dir)
 *    **before** `state.json` moves past it; delivery happens only from the outbox.
 * 2. At start the high-water mark is max(`last_sync_to`, the latest window end in the
 *    outbox file names), so a crash between 1's two writes neither re-reads nor skips; a
 *    lagging state.json is saved before the outbox is drained.
 * 3. A file leaves the outbox only after a 2xx (or to dead_letter/); a crash between the
 *    2xx and the unlink resends the same bytes, same sync_id, which the server dedupes.
 * 4. When `gestao` is down, its window is recorded in `state.json` (`gestao_pending`)
 *    **before** the caixa-only payload is queued, and read again when it is back.
 */
export class AgentCycle {
  private lastToMs: number | undefined;
  private gestaoPending: SyncWindow[] = [];
  private stopping = false;
  /** state.json is behind the outbox: saved before anything leaves the outbox. */
  private stateLags = false;
  private readonly now: () => number;
  /** The server epoch met in an answer that differs from the one last stored. */
  private newEpoch: string | undefined;

  constructor(private readonly deps: AgentCycleDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Asks the cycle to stop at the next window or file boundary (SIGTERM). */
  stop(): void {
    this.stopping = true;
  }

  private get policy() {
    return { maxWindowMs: this.deps.config.maxWindowMs, safetyLagMs: this.deps.config.safetyLagMs };
  }

  private iso(ms: number): string {
    return toIsoWithOffset(ms, this.deps.config.utcOffset);
  }

  /** Loads state.json and the outbox's high-water mark (once). */
  private init(): number {
    if (this.lastToMs !== undefined) return this.lastToMs;
    const state = readState(this.deps.statePath);
    const queued = this.deps.outbox.latestWindowToMs();
    let last: number;
    if (state) last = Date.parse(state.last_sync_to);
    else if (this.deps.config.startFrom)
      last = floorToSecond(Date.parse(this.deps.config.startFrom));
    else last = horizon(this.now(), this.policy) - this.deps.config.intervalMs;
    if (queued !== null && queued > last) {
      this.deps.logger.warn(
        { last_sync_to: state?.last_sync_to, outbox_to: this.iso(queued) },
        'state.json lags the outbox (crash between queueing and saving state); resuming after the queued window',
      );
      last = queued;
      this.stateLags = true;
    }
    this.gestaoPending = (state?.gestao_pending ?? []).map((w) => ({
      fromMs: Date.parse(w.from),
      toMs: Date.parse(w.to),
    }));
    this.lastToMs = floorToSecond(last);
    return this.lastToMs;
  }

  private async saveState(): Promise<void> {
    const state: AgentState = {
      last_sync_to: this.iso(this.lastToMs!),
      gestao_pending: this.gestaoPending.map((w) => ({
        from: this.iso(w.fromMs),
        to: this.iso(w.toMs),
      })),
      updated_at: new Date(this.now()).toISOString(),
    };
    await writeState(this.deps.statePath, state);
  }

  private async read(source: SourceName, window: SyncWindow): Promise<ChannelRows> {
    const db = this.deps.sources[source];
    const store =
      source === 'caixa' ? this.deps.config.storeIdPontoVenda : this.deps.config.storeIdFilial;
    try {
      return await extractChannel(
        db,
        this.deps.queries[source],
        queryParams(window, this.deps.config.utcOffset, store, db.dialect),
      );
    } catch (err) {
      throw sourceError(source, err);
    }
  }

  private build(
    window: SyncWindow,
    caixa: ChannelRows | null,
    gestao: ChannelRows | null,
    warnings: string[],
  ): AgentPayload {
    return buildPayload({
      window,
      offsetMinutes: this.deps.config.utcOffset,
      store: {
        idPontoVenda: this.deps.config.storeIdPontoVenda,
        idFilial: this.deps.config.storeIdFilial,
      },
      caixa,
      gestao,
      warnings,
    });
  }

  private queued(payload: AgentPayload, entry: OutboxEntry, what: string): void {
    this.deps.logger.info(
      {
        sync_id: payload.integrity.sync_id,
        window: payload.window,
        vendas: payload.vendas.length,
        turnos: payload.turnos.length,
        warnings: payload.integrity.warnings,
        file: entry.file,
      },
      what,
    );
  }

  /** Reads, queues and records every due window; stops at the first source failure. */
  private async readDueWindows(report: CycleReport): Promise<void> {
    const firstDue = nextWindow(this.init(), this.now(), this.policy);
    const catchingUp =
      firstDue !== null &&
      horizon(this.now(), this.policy) - firstDue.fromMs > 2 * this.deps.config.intervalMs;
    let halved: SyncWindow | undefined;
    while (!this.stopping) {
      const w = halved ?? nextWindow(this.init(), this.now(), this.policy);
      halved = undefined;
      if (!w) break;
      let caixa: ChannelRows;
      try {
        caixa = await this.read('caixa', w);
      } catch (err) {
        // Without the till's data there is nothing worth sending: the window is read again next cycle.
        const e = sourceError('caixa', err);
        this.deps.logger.error(
          {
            code: e.code,
            err: e.message,
            window: { from: this.iso(w.fromMs), to: this.iso(w.toMs) },
          },
          'caixa database unavailable; window kept for the next cycle',
        );
        report.errors.push(`${e.code}: ${e.message}`);
        return;
      }
      const warnings: string[] = [];
      let gestao: ChannelRows | null = null;
      try {
        gestao = await this.read('gestao', w);
      } catch (err) {
        const e = sourceError('gestao', err);
        this.deps.logger.warn(
          { code: e.code, err: e.message },
          'gestao database unavailable; sending caixa only (GESTAO_DB_FAILURE)',
        );
        report.errors.push(`${e.code}: ${e.message}`);
        warnings.push('GESTAO_DB_FAILURE');
      }
      if (catchingUp) warnings.push('CATCH_UP');
      let payload: AgentPayload;
      try {
        payload = this.build(w, caixa, gestao, warnings);
      } catch (err) {
        const e = err instanceof SyncError ? err : sourceError('caixa', err);
        this.deps.logger.error(
          { code: e.code, err: e.message, details: e.details },
          'payload rejected before sending; window kept',
        );
        report.errors.push(`${e.code}: ${e.message}`);
        return;
      }
      const bytes = Buffer.byteLength(JSON.stringify(payload));
      if (bytes > this.deps.config.maxPayloadBytes && w.toMs - w.fromMs >= 2000) {
        // Too big for one POST (a busy store, a long catch-up window): read half the window.
        halved = { fromMs: w.fromMs, toMs: floorToSecond(w.fromMs + (w.toMs - w.fromMs) / 2) };
        this.deps.logger.info(
          { bytes, window: { from: this.iso(w.fromMs), to: this.iso(w.toMs) } },
          'payload above AGENT_MAX_PAYLOAD; reading half the window',
        );
        continue;
      }
      if (gestao === null) {
        // Recorded before the payload is queued: a crash in between re-reads, never forgets.
        this.addGestaoPending(w);
        await this.saveState();
      }
      const entry = this.deps.outbox.enqueue(payload);
      this.lastToMs = w.toMs;
      await this.saveState();
      report.windows++;
      this.queued(payload, entry, catchingUp ? 'window queued (catch-up)' : 'window queued');
    }
  }

  private addGestaoPending(w: SyncWindow): void {
    const last = this.gestaoPending.at(-1);
    if (last && last.toMs === w.fromMs && w.toMs - last.fromMs <= this.deps.config.maxWindowMs)
      last.toMs = w.toMs;
    else this.gestaoPending.push({ ...w });
  }

  /** Reads again the back-office windows missed while `gestao` was down. */
  private async backfillGestao(report: CycleReport): Promise<void> {
    while (this.gestaoPending.length > 0 && !this.stopping) {
      const w = this.gestaoPending[0];
      let gestao: ChannelRows;
      try {
        gestao = await this.read('gestao', w);
      } catch {
        return; // still down: try again next cycle
      }
      const payload = this.build(w, null, gestao, ['GESTAO_BACKFILL']);
      const entry = this.deps.outbox.enqueue(payload);
      this.gestaoPending.shift();
      await this.saveState();
      report.backfills++;
      this.queued(payload, entry, 'gestao window read again after its failure');
    }
  }

  /** Sends the outbox oldest first; stops at the first file the server could not take. */
  async drain(report: CycleReport): Promise<void> {
    const { outbox, delivery, logger } = this.deps;
    for (const entry of outbox.list()) {
      if (this.stopping) return;
      let body: string;
      let gzip: Buffer;
      let payload: AgentPayload;
      try {
        ({ body, gzip, payload } = outbox.read(entry));
      } catch (err) {
        outbox.deadLetter(entry, { reason: 'unreadable', error: (err as Error).message });
        report.deadLettered++;
        logger.error({ file: entry.file }, 'unreadable outbox file moved to dead_letter');
        continue;
      }
      const syncId = payload.integrity.sync_id;
      const result = await delivery.send({ json: body, gzip }, syncId);
      const window = { from: payload.window.from, to: payload.window.to };
      if (result.kind === 'delivered') {
        outbox.remove(entry, this.keepsDelivered, this.now());
        report.delivered++;
        logger.info(
          {
            sync_id: syncId,
            file: entry.file,
            status: result.status,
            answer: answerOf(result.body),
            window,
          },
          'payload delivered',
        );
        if (result.epoch && this.noteEpoch(result.epoch)) return;
        continue;
      }
      if (result.kind === 'refused') {
        outbox.deadLetter(entry, {
          reason: 'refused',
          status: result.status,
          body: result.body,
          sync_id: syncId,
          window,
        });
        report.deadLettered++;
        logger.error(
          {
            code: 'AGENT_DELIVERY_REFUSED',
            sync_id: syncId,
            file: entry.file,
            status: result.status,
            body: result.body,
          },
          'payload refused by the webhook; moved to dead_letter',
        );
        continue;
      }
      if (result.kind === 'unauthorized') {
        // A wrong or revoked token is not the payload's fault: keep the whole queue.
        report.failed++;
        report.errors.push(`AGENT_DELIVERY_FAILED: HTTP ${result.status}, API_TOKEN refused`);
        logger.error(
          { code: 'AGENT_DELIVERY_FAILED', file: entry.file, status: result.status },
          'API_TOKEN refused by the webhook; outbox kept until the token is fixed',
        );
        return;
      }
      report.failed++;
      if (result.kind === 'unreachable') {
        logger.warn(
          { code: 'AGENT_DELIVERY_FAILED', file: entry.file, err: result.error },
          'webhook unreachable; outbox kept',
        );
        return;
      }
      const failed = outbox.recordFailure(entry);
      if (failed.attempts >= this.deps.config.maxAttempts) {
        outbox.deadLetter(failed, {
          reason: 'max_attempts',
          ...(result.status === null ? {} : { status: result.status }),
          error: result.error,
          sync_id: syncId,
          window,
        });
        report.deadLettered++;
        logger.error(
          { code: 'AGENT_DELIVERY_REFUSED', file: failed.file, attempts: failed.attempts },
          'payload failed too many times; moved to dead_letter',
        );
      } else
        logger.warn(
          {
            code: 'AGENT_DELIVERY_FAILED',
            file: failed.file,
            attempts: failed.attempts,
            status: result.status,
            err: result.error,
          },
          'delivery failed; kept in the outbox',
        );
      return;
    }
  }

  private get keepsDelivered(): boolean {
    return (this.deps.config.deliveredRetentionMs ?? 0) > 0;
  }

  private get epochPath(): string {
    return `${this.deps.statePath.replace(/state\.json$/, '')}epoch.json`;
  }

  /** Records the first epoch seen; true when the server's epoch changed (a restore). */
  private noteEpoch(epoch: string): boolean {
    const known = readEpochFile(this.epochPath);
    if (known === null) {
      writeEpochFile(this.epochPath, epoch);
      return false;
    }
    if (known === epoch) return false;
    this.newEpoch = epoch;
    return true;
  }

  /**
   * The server was restored from a backup (contract C3): ask it when the backup was
   * taken, queue again every kept payload delivered since 5 minutes before that (all of
   * them when it does not say), and only then store the new epoch — a crash in between
   * re-sends again, which the server dedupes by sync_id.
   */
  private async resendAfterRestore(report: CycleReport): Promise<void> {
    let info;
    try {
      info = await this.deps.delivery.epoch();
    } catch (err) {
      this.deps.logger.warn(
        { err: String(err) },
        'server epoch changed; its details are unavailable, trying next cycle',
      );
      report.errors.push(`AGENT_DELIVERY_FAILED: GET /api/sync/epoch: ${String(err)}`);
      return;
    }
    const since = info.restoredFrom ? Date.parse(info.restoredFrom.takenAt) - resendMarginMs : null;
    const count = this.deps.outbox.requeueDelivered(since);
    report.resent += count;
    writeEpochFile(this.epochPath, info.databaseId);
    this.newEpoch = undefined;
    this.deps.logger.warn(
      {
        epoch: info.databaseId,
        restored_from: info.restoredFrom,
        resent: count,
      },
      'the server was restored from a backup: payloads delivered since the backup are sent again',
    );
  }

  private async drainAndResend(report: CycleReport): Promise<void> {
    await this.drain(report);
    if (this.newEpoch !== undefined) {
      await this.resendAfterRestore(report);
      if (this.newEpoch === undefined) await this.drain(report);
    }
  }

  /** One full cycle. Never throws for a source or network failure; those are in the report. */
  async runOnce(): Promise<CycleReport> {
    const report: CycleReport = {
      windows: 0,
      backfills: 0,
      delivered: 0,
      failed: 0,
      deadLettered: 0,
      backlog: 0,
      resent: 0,
      lastSyncTo: '',
      errors: [],
    };
    this.init();
    if (this.stateLags) {
      // Before the queued file can be delivered and deleted, which would erase the evidence.
      await this.saveState();
      this.stateLags = false;
    }
    await this.drainAndResend(report);
    await this.readDueWindows(report);
    await this.backfillGestao(report);
    if (report.failed === 0) await this.drainAndResend(report);
    if (this.keepsDelivered)
      this.deps.outbox.purgeDelivered(this.now() - this.deps.config.deliveredRetentionMs!);
    report.backlog = this.deps.outbox.list().length;
    report.lastSyncTo = this.iso(this.lastToMs!);
    return report;
  }
}
