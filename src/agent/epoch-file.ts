import { existsSync, readFileSync } from 'node:fs';
import { writeFileDurable } from './durable-fs.js';

/** `data/epoch.json`: the server epoch (`x-pdv-sync-epoch`) the agent last delivered to. */
export function readEpochFile(path: string): string | null {
  if (!existsSync(path)) return null;
  try {
    const json = JSON.parse(readFileSync(path, 'utf8')) as { epoch?: unknown };
    return typeof json.epoch === 'string' ? json.epoch : null;
  } catch {
    return null;
  }
}

export function writeEpochFile(path: string, epoch: string): void {
  writeFileDurable(path, `${JSON.stringify({ epoch, updated_at: new Date().toISOString() })}\n`);
}
