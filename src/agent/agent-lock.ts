import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { SyncError } from '../protocol/index.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One agent per data folder: `agent.lock` holds the running agent's pid. A lock
 * left by a killed agent (its pid is gone) is taken over; a live one refuses
 * start-up with AGENT_LOCKED. Two agents would each read and queue the same windows.
 */
export function acquireLock(path: string): () => void {
  for (let i = 0; i < 2; i++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid))
        throw new SyncError(
          'AGENT_LOCKED',
          `another agent (pid ${pid}) uses this data folder (${path})`,
          {
            details: { pid, path },
          },
        );
      unlinkSync(path); // stale: its agent is gone
    }
  }
  throw new SyncError('AGENT_LOCKED', `cannot take ${path}`, { details: { path } });
}
