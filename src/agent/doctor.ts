import { constants, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { accessSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentConfig } from './agent-config.js';
import { Delivery } from './delivery.js';
import { unlinkDurable, writeFileDurable } from './durable-fs.js';
import { queryParams } from './extract.js';
import { parseSourceTimestamp, toIsoWithOffset } from './local-time.js';
import { loadQuerySet, sourceNames, type QuerySet } from './queries/query-set.js';
import { maskUrl, openSource } from './sources/source-db.js';
import { readState } from './state-file.js';

export const doctorCheckIds = [
  'config',
  'folders',
  'queries',
  'caixa',
  'gestao',
  'caixa_clock',
  'gestao_clock',
  'api',
  'api_clock',
  'backlog',
] as const;
export type DoctorCheckId = (typeof doctorCheckIds)[number];

export type DoctorCheck = { id: DoctorCheckId; status: 'pass' | 'warn' | 'fail'; detail: string };

/** Clocks further apart than this make windows miss or repeat late sales. */
export const maxClockSkewMs = 2 * 60_000;

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function checkFolders(config: AgentConfig): DoctorCheck {
  const folders = [
    config.dataDir,
    join(config.dataDir, 'outbox'),
    join(config.dataDir, 'dead_letter'),
    ...(config.logDir ? [config.logDir] : []),
  ];
  const problems: string[] = [];
  for (const dir of folders) {
    try {
      mkdirSync(dir, { recursive: true });
      accessSync(dir, constants.R_OK | constants.W_OK);
      // What the agent really does: temp file, fsync, rename, fsync folder, delete.
      const probe = join(dir, `.doctor-${process.pid}`);
      writeFileDurable(probe, 'ok');
      unlinkDurable(probe);
    } catch (err) {
      problems.push(`${dir}: ${message(err)}`);
    }
  }
  return problems.length
    ? { id: 'folders', status: 'fail', detail: problems.join('; ') }
    : { id: 'folders', status: 'pass', detail: `writable with fsync: ${folders.join(', ')}` };
}

function checkConfigFile(config: AgentConfig): DoctorCheck {
  if (!config.configFile)
    return { id: 'config', status: 'pass', detail: 'from the environment (no --config file)' };
  if (process.platform === 'win32')
    return {
      id: 'config',
      status: 'pass',
      detail: `${config.configFile} (restrict it to SYSTEM and Administrators)`,
    };
  const mode = statSync(config.configFile).mode & 0o777;
  return mode & 0o077
    ? {
        id: 'config',
        status: 'warn',
        detail: `${config.configFile} has mode ${mode.toString(8)} and holds API_TOKEN: chmod 600 it`,
      }
    : { id: 'config', status: 'pass', detail: `${config.configFile} (mode ${mode.toString(8)})` };
}

async function checkSource(
  config: AgentConfig,
  name: 'caixa' | 'gestao',
  queries: QuerySet | undefined,
): Promise<DoctorCheck[]> {
  const clockId = name === 'caixa' ? 'caixa_clock' : 'gestao_clock';
  let db;
  try {
    db = await openSource(config.sources[name]);
  } catch (err) {
    return [{ id: name, status: 'fail', detail: message(err) }];
  }
  try {
    const dbNow = await db.clock();
    const out: DoctorCheck[] = [];
    // Every query file, over an empty window: proves the SQL matches this database's schema.
    const now = Date.now();
    const store = name === 'caixa' ? config.storeIdPontoVenda : config.storeIdFilial;
    const params = queryParams({ fromMs: now, toMs: now }, config.utcOffset, store, db.dialect);
    const ran: string[] = [];
    for (const [kind, sql] of Object.entries(queries?.[name] ?? {})) {
      try {
        await db.query(sql, params);
        ran.push(kind);
      } catch (err) {
        out.push({ id: name, status: 'fail', detail: `${name}.${kind}.sql: ${message(err)}` });
      }
    }
    if (out.length === 0)
      out.push({
        id: name,
        status: 'pass',
        detail: `${db.description}: connected; queries ${ran.join(', ')} run`,
      });
    const skew = parseSourceTimestamp(dbNow, config.utcOffset) - now;
    out.push(
      Math.abs(skew) <= maxClockSkewMs
        ? {
            id: clockId,
            status: 'pass',
            detail: `database clock ${dbNow}, skew ${Math.round(skew / 1000)} s`,
          }
        : {
            id: clockId,
            status: 'fail',
            detail: `database clock ${dbNow} is ${Math.round(skew / 1000)} s from the agent's ${toIsoWithOffset(now, config.utcOffset)}: fix the clock or AGENT_UTC_OFFSET`,
          },
    );
    return out;
  } catch (err) {
    return [{ id: name, status: 'fail', detail: `${db.description}: ${message(err)}` }];
  } finally {
    await db.close();
  }
}

async function checkApi(config: AgentConfig): Promise<DoctorCheck[]> {
  const delivery = new Delivery({
    url: config.webhookUrl,
    token: config.apiToken,
    timeoutMs: config.httpTimeoutMs,
    retries: 0,
    baseDelayMs: 0,
    maxDelayMs: 0,
  });
  const started = Date.now();
  // An empty object is no payload: a validating server authenticates, then refuses it with 400.
  const result = await delivery.post('{}');
  const ms = Date.now() - started;
  if (result.kind === 'unreachable' || (result.kind === 'failed' && result.status === null))
    return [{ id: 'api', status: 'fail', detail: `${config.webhookUrl}: ${result.error}` }];
  const status = result.status ?? 0;
  if (status === 401 || status === 403)
    return [
      {
        id: 'api',
        status: 'fail',
        detail: `${config.webhookUrl}: HTTP ${status}, API_TOKEN refused`,
      },
    ];
  if (status === 404 || status >= 500)
    return [{ id: 'api', status: 'fail', detail: `${config.webhookUrl}: HTTP ${status}` }];
  const checks: DoctorCheck[] = [
    {
      id: 'api',
      status: 'pass',
      detail: `${config.webhookUrl}: reachable in ${ms} ms, token accepted (HTTP ${status} to an empty probe)`,
    },
  ];
  const date =
    result.kind === 'delivered' || result.kind === 'refused' || result.kind === 'unauthorized'
      ? result.date
      : null;
  if (date) {
    const skew = Date.parse(date) - (started + ms / 2);
    checks.push(
      Math.abs(skew) <= maxClockSkewMs
        ? {
            id: 'api_clock',
            status: 'pass',
            detail: `server clock skew ${Math.round(skew / 1000)} s`,
          }
        : {
            id: 'api_clock',
            status: 'fail',
            detail: `server clock is ${Math.round(skew / 1000)} s from this machine's`,
          },
    );
  }
  return checks;
}

/**
 * `pdv-sync agent --doctor`: checks the folders (write, fsync, rename), the config
 * file's permissions, each database (connection, every query file, clock), the
 * API (reachability, token, clock) and the backlog. Writes `logs/doctor.log`.
 */
export async function runDoctor(config: AgentConfig): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [checkConfigFile(config), checkFolders(config)];
  let queries: QuerySet | undefined;
  try {
    queries = loadQuerySet(config.queriesDir);
    checks.push({
      id: 'queries',
      status: 'pass',
      detail: `${config.queriesDir}: ${sourceNames.map((s) => `${s} ${Object.keys(queries![s]).length} files`).join(', ')}`,
    });
  } catch (err) {
    checks.push({ id: 'queries', status: 'fail', detail: message(err) });
  }
  for (const name of sourceNames) checks.push(...(await checkSource(config, name, queries)));
  checks.push(...(await checkApi(config)));
  try {
    const state = readState(join(config.dataDir, 'state.json'));
    const outboxDir = join(config.dataDir, 'outbox');
    const dead = join(config.dataDir, 'dead_letter');
    const count = (dir: string) => {
      try {
        return readdirSync(dir).filter((f) => f.endsWith('.json.gz')).length;
      } catch {
        return 0;
      }
    };
    const backlog = count(outboxDir);
    const deadLetters = count(dead);
    checks.push({
      id: 'backlog',
      status: deadLetters > 0 ? 'warn' : 'pass',
      detail: `last_sync_to ${state?.last_sync_to ?? 'none yet'}; outbox ${backlog}; dead_letter ${deadLetters}`,
    });
  } catch (err) {
    checks.push({ id: 'backlog', status: 'fail', detail: message(err) });
  }
  writeDoctorLog(config, checks);
  return checks;
}

function writeDoctorLog(config: AgentConfig, checks: DoctorCheck[]): void {
  if (!config.logDir) return;
  try {
    mkdirSync(config.logDir, { recursive: true });
    const lines = [
      `pdv-sync agent --doctor ${new Date().toISOString()} (node ${process.version}, ${process.platform})`,
      `config: ${config.configFile ?? '(environment)'}; caixa ${maskUrl(config.sources.caixa)}; gestao ${maskUrl(config.sources.gestao)}`,
      ...checks.map((c) => `${c.status.toUpperCase().padEnd(4)} ${c.id}: ${c.detail}`),
      '',
    ];
    writeFileSync(join(config.logDir, 'doctor.log'), lines.join('\n'));
  } catch {
    // the folders check already reports an unwritable log folder
  }
}
