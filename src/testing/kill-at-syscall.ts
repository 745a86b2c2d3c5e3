import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** strace 6.x: `-e inject=SYSCALL:signal=SIGKILL:when=K` kills the tracee as it enters its K-th call. */
export const stracePath = process.env['PDV_SYNC_TEST_STRACE'] ?? '/usr/bin/strace';

export type ProcessExit = {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
};

export type RunOptions = { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number };

const live = new Set<ChildProcess>();

/** Kills (SIGKILL, whole process group) every process started here that is still running. */
export function killAllTracedProcesses(): void {
  for (const proc of live) killGroup(proc);
  live.clear();
}

function killGroup(proc: ChildProcess): void {
  if (proc.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
  try {
    // Its own process group: strace and the traced command die together.
    process.kill(-proc.pid, 'SIGKILL');
  } catch {
    proc.kill('SIGKILL');
  }
}

/** Runs a command to its end (in its own process group) and resolves with how it ended. */
export function runProcess(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<ProcessExit> {
  const proc = spawn(command, args, {
    cwd: options.cwd ?? process.cwd(),
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  live.add(proc);
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(proc);
      reject(
        new Error(
          `${command} ${args.join(' ')}: no exit after ${options.timeoutMs ?? 60_000} ms\n${stdout}\n${stderr}`,
        ),
      );
    }, options.timeoutMs ?? 60_000);
    proc.once('error', (err) => {
      clearTimeout(timer);
      live.delete(proc);
      reject(err);
    });
    proc.once('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(proc);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * Runs the command under `strace -f` and counts its calls of one syscall per
 * tracee (thread), since strace's `when=K` counts per tracee too.
 */
export async function countSyscalls(
  syscall: string,
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<{ exit: ProcessExit; perTracee: Map<number, number> }> {
  const dir = mkdtempSync(join(tmpdir(), 'pdv-sync-strace-'));
  try {
    const file = join(dir, 'trace.txt');
    const exit = await runProcess(
      stracePath,
      ['-f', '-qq', '-o', file, '-e', `trace=${syscall}`, command, ...args],
      options,
    );
    const perTracee = new Map<number, number>();
    // "PID pwrite64(fd, ..." once per call; "<... pwrite64 resumed>" lines are the same call.
    const line = new RegExp(`^(\\d+)\\s+${syscall}\\(`);
    for (const l of readFileSync(file, 'utf8').split('\n')) {
      const m = line.exec(l);
      if (m?.[1]) perTracee.set(Number(m[1]), (perTracee.get(Number(m[1])) ?? 0) + 1);
    }
    return { exit, perTracee };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs the command under strace, which delivers SIGKILL as a tracee enters its
 * k-th call of the syscall (strace shows that call unfinished, `= ?`): a crash
 * just before that write.
 * Resolves with `signal: 'SIGKILL'` when that happened, or the exit of a run that
 * made fewer than k calls.
 */
export function runKilledAtSyscall(
  syscall: string,
  k: number,
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<ProcessExit> {
  return runProcess(
    stracePath,
    [
      '-f',
      '-qq',
      // No --seccomp-bpf: with it, strace 6.1 never injects the signal.
      '-o',
      '/dev/null',
      '-e',
      `trace=${syscall}`,
      '-e',
      `inject=${syscall}:signal=SIGKILL:when=${k}`,
      command,
      ...args,
    ],
    options,
  );
}
