import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AgentConfig } from './agent-config.js';
import { AgentCycle, type CycleReport } from './agent-cycle.js';
import { acquireLock } from './agent-lock.js';
import { createAgentLogger } from './agent-logger.js';
import { Delivery } from './delivery.js';
import { Outbox } from './outbox.js';
import { loadQuerySet, type SourceName } from './queries/query-set.js';
import { openSource, type SourceDb } from './sources/source-db.js';

/**
 * The long-running agent: one cycle every `intervalMs` (start to start; a cycle
 * that overruns is followed at once). `stop()` (SIGTERM) lets the running step
 * finish — the window being queued or the file being sent — then returns.
 */
export class AgentDaemon {
  private stopping = false;
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private closed = false;

  private constructor(
    readonly config: AgentConfig,
    readonly logger: Logger,
    readonly cycle: AgentCycle,
    readonly outbox: Outbox,
    private readonly sources: Record<SourceName, SourceDb>,
    private readonly releaseLock: () => void,
  ) {}

  static async open(config: AgentConfig, logger?: Logger): Promise<AgentDaemon> {
    const log =
      logger ??
      createAgentLogger({
        level: config.logLevel,
        logDir: config.logDir,
        secrets: [config.apiToken, ...Object.values(config.sources).map(passwordIn)],
      });
    const queries = loadQuerySet(config.queriesDir);
    const outbox = new Outbox(config.dataDir);
    const releaseLock = acquireLock(join(config.dataDir, 'agent.lock'));
    const sources = {
      caixa: await openSource(config.sources.caixa),
      gestao: await openSource(config.sources.gestao),
    };
    const delivery = new Delivery({
      url: config.webhookUrl,
      token: config.apiToken,
      timeoutMs: config.httpTimeoutMs,
      retries: config.retries,
      baseDelayMs: config.retryBaseDelayMs,
      maxDelayMs: config.retryMaxDelayMs,
      gzip: config.gzip,
    });
    const cycle = new AgentCycle({
      config,
      sources,
      queries,
      outbox,
      delivery,
      statePath: join(config.dataDir, 'state.json'),
      logger: log,
    });
    log.info(
      {
        caixa: sources.caixa.description,
        gestao: sources.gestao.description,
        webhook: config.webhookUrl,
        interval_ms: config.intervalMs,
        data_dir: config.dataDir,
      },
      'agent started',
    );
    return new AgentDaemon(config, log, cycle, outbox, sources, releaseLock);
  }

  private async cycleOnce(): Promise<CycleReport> {
    const report = await this.cycle.runOnce();
    this.logger.info({ ...report }, 'cycle done');
    return report;
  }

  /** One cycle, for `--once` (a scheduled task instead of a service). */
  async runOnce(): Promise<CycleReport> {
    const cycle = this.cycleOnce();
    this.running = cycle.then(
      () => undefined,
      () => undefined,
    );
    return cycle;
  }

  /** Cycles until `stop()`. */
  run(): Promise<void> {
    this.running ??= (async () => {
      while (!this.stopping) {
        const started = Date.now();
        try {
          await this.cycleOnce();
        } catch (err) {
          // Disk full, permissions, a corrupt state file: logged, tried again next cycle.
          this.logger.error({ err }, 'cycle failed');
        }
        const wait = this.config.intervalMs - (Date.now() - started);
        if (wait > 0 && !this.stopping)
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, wait);
            this.wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
      }
    })();
    return this.running;
  }

  /** Finishes the current step, stops the loop and closes the sources. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.cycle.stop();
    this.wake?.();
    await this.running;
    await this.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.sources.caixa.close(), this.sources.gestao.close()]);
    this.releaseLock();
    this.logger.info('agent stopped');
    await new Promise<void>((resolve) => this.logger.flush(() => resolve()));
  }
}

/** The password of a database URL, if it has one (masked in the agent's log). */
function passwordIn(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
}
