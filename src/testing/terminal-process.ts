import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { cliPath } from './server-process.js';

const running = new Set<ChildProcess>();

/** Kills every terminal process a test started and left running (after a failed assertion). */
export function killAllTerminalProcesses(): void {
  for (const proc of running) if (proc.exitCode === null) proc.kill('SIGKILL');
  running.clear();
}

/** `pdv-sync terminal` as a real process: the sync daemon a store machine runs. */
export type TerminalProcess = {
  proc: ChildProcess;
  /** The terminal's local SQLite file (the POS app's database). */
  dbPath: string;
  output(): string;
  /**
   * A connection of the test's own to the local file, as the POS app has one beside the
   * daemon: writes through it go through the capture triggers like the app's.
   */
  local(): Database.Database;
  /** Resolves once the daemon made its local tables (its first sync fetched the schema). */
  ready(table: string, timeoutMs?: number): Promise<void>;
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
};

export function startTerminalProcess(
  dbPath: string,
  options: {
    serverUrl: string;
    token: string;
    intervalMs?: number;
    /** More flags for `pdv-sync terminal` (e.g. `--no-live`). */
    args?: string[];
    cwd?: string;
    env?: NodeJS.ProcessEnv;
  },
): TerminalProcess {
  const proc = spawn(
    process.execPath,
    [
      cliPath,
      'terminal',
      '--db',
      dbPath,
      '--server',
      options.serverUrl,
      '--interval',
      String(options.intervalMs ?? 500),
      ...(options.args ?? []),
    ],
    {
      cwd: options.cwd ?? process.cwd(),
      // The token in the environment, as the docs advise (flags show in `ps`).
      env: {
        ...process.env,
        PDV_SYNC_LANG: 'en',
        PDV_SYNC_TOKEN: options.token,
        PDV_SYNC_LOG_FILE: '',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  let out = '';
  proc.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  proc.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => resolve(code)),
  );
  let local: Database.Database | null = null;
  return {
    proc,
    dbPath,
    output: () => out,
    local() {
      local ??= new Database(dbPath, { timeout: 10_000 });
      return local;
    },
    async ready(table, timeoutMs = 20_000) {
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        if (proc.exitCode !== null) throw new Error(`terminal exited:\n${out}`);
        if (existsSync(dbPath)) {
          const probe = new Database(dbPath, { readonly: true, timeout: 10_000 });
          try {
            const has = probe
              .prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`)
              .get(table);
            if (has) return;
          } finally {
            probe.close();
          }
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`terminal made no ${table} table within ${timeoutMs} ms:\n${out}`);
    },
    async stop(signal = 'SIGTERM') {
      local?.close();
      local = null;
      if (proc.exitCode === null) proc.kill(signal);
      return exited;
    },
  };
}
