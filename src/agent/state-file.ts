import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { z } from 'zod';
import { SyncError } from '../protocol/index.js';
import { fsyncDir } from './durable-fs.js';

const iso = z.iso.datetime({ offset: true });

/**
 * `state.json`: the end of the last window the agent has made durable (in the
 * outbox or delivered), and the back-office windows still to be read again
 * because `gestao` was down when they were read.
 */
export const agentStateSchema = z.object({
  last_sync_to: iso,
  gestao_pending: z.array(z.object({ from: iso, to: iso })).default([]),
  updated_at: iso.optional(),
});
export type AgentState = z.infer<typeof agentStateSchema>;

/** The state, or null when the agent has never completed a window. */
export function readState(path: string): AgentState | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const parsed = agentStateSchema.safeParse(safeJson(text));
  if (!parsed.success)
    throw new SyncError('AGENT_STATE_INVALID', `${path}: ${parsed.error.issues[0]?.message}`, {
      details: { path },
    });
  return parsed.data;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Replaces the state atomically: write-file-atomic writes a temp file, fsyncs it
 * and renames it over `state.json`; then the folder is fsynced so the rename
 * itself survives power loss. A crash leaves the old state or the new, never a torn file.
 */
export async function writeState(path: string, state: AgentState): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(state, null, 2)}\n`, { fsync: true });
  fsyncDir(dirname(path));
}
