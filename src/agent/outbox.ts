import { mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { agentPayloadSchema, SyncError, type AgentPayload } from '../protocol/index.js';
import { renameDurable, unlinkDurable, writeFileDurable } from './durable-fs.js';

/**
 * `<sequence>-<window end, epoch ms>-<sync_id prefix>.a<attempts>.json.gz`: lexical order is
 * creation order, and the window end is known without opening the file.
 */
const namePattern = /^(\d{12})-(\d{13})-([0-9a-f]{16})\.a(\d{3})\.json\.gz$/;

export type OutboxEntry = {
  file: string;
  path: string;
  seq: number;
  /** The end of the payload's window (epoch ms). */
  windowToMs: number;
  /** Failed deliveries so far (5xx or timeout). */
  attempts: number;
};

/** Why a file was dead-lettered, written beside it as `<file>.reason.json`. */
export type DeadLetterReason = {
  reason: 'refused' | 'max_attempts' | 'unreadable';
  status?: number;
  body?: string;
  error?: string;
  attempts: number;
  sync_id?: string;
  window?: { from: string; to: string };
  moved_at: string;
};

function entryOf(dir: string, file: string): OutboxEntry | null {
  const m = namePattern.exec(file);
  if (!m) return null;
  return {
    file,
    path: join(dir, file),
    seq: Number(m[1]),
    windowToMs: Number(m[2]),
    attempts: Number(m[4]),
  };
}

/**
 * The agent's write-ahead queue, `data/outbox/`: every payload is written here
 * durably (gzip; temp file, fsync, rename, fsync folder) before `state.json`
 * moves past its window, and leaves only once the webhook answered 2xx, or to
 * `data/dead_letter/` on a 4xx or after `maxAttempts` failures. Files are sent
 * oldest first; the attempt count lives in the file name and is bumped by a rename.
 */
export class Outbox {
  readonly dir: string;
  readonly deadLetterDir: string;
  /**
   * Delivered payloads, kept for a retention as `<delivered at, epoch ms>-<file>`: after
   * the server is restored from a backup, those delivered since the backup are sent again.
   */
  readonly deliveredDir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'outbox');
    this.deadLetterDir = join(dataDir, 'dead_letter');
    this.deliveredDir = join(dataDir, 'delivered');
    mkdirSync(this.dir, { recursive: true });
    mkdirSync(this.deadLetterDir, { recursive: true });
    mkdirSync(this.deliveredDir, { recursive: true });
    // Temp files of a write cut short by a crash: never renamed, so never part of the queue.
    for (const f of readdirSync(this.dir)) if (f.endsWith('.tmp')) unlinkSync(join(this.dir, f));
  }

  /** Pending files, oldest first. */
  list(): OutboxEntry[] {
    return readdirSync(this.dir)
      .sort()
      .map((f) => entryOf(this.dir, f))
      .filter((e): e is OutboxEntry => e !== null);
  }

  deadLetters(): string[] {
    return readdirSync(this.deadLetterDir)
      .filter((f) => namePattern.test(f))
      .sort();
  }

  private nextSeq(): number {
    let max = 0;
    for (const dir of [this.dir, this.deadLetterDir, this.deliveredDir])
      for (const f of readdirSync(dir)) {
        const m = namePattern.exec(dir === this.deliveredDir ? f.slice(14) : f);
        if (m) max = Math.max(max, Number(m[1]));
      }
    return max + 1;
  }

  /** Writes the payload durably at the end of the queue. */
  enqueue(payload: AgentPayload): OutboxEntry {
    const seq = this.nextSeq();
    const windowToMs = Date.parse(payload.window.to);
    const file = `${String(seq).padStart(12, '0')}-${String(windowToMs).padStart(13, '0')}-${payload.integrity.sync_id.slice(0, 16)}.a000.json.gz`;
    writeFileDurable(join(this.dir, file), gzipSync(JSON.stringify(payload)));
    return { file, path: join(this.dir, file), seq, windowToMs, attempts: 0 };
  }

  /** The JSON body exactly as it will be sent, and the payload it holds. */
  read(entry: OutboxEntry): { body: string; gzip: Buffer; payload: AgentPayload } {
    try {
      const gzip = readFileSync(entry.path);
      const body = gunzipSync(gzip).toString('utf8');
      return { body, gzip, payload: agentPayloadSchema.parse(JSON.parse(body)) };
    } catch (err) {
      throw new SyncError('AGENT_STATE_INVALID', `outbox file ${entry.file} is unreadable`, {
        cause: err,
        details: { file: entry.file },
      });
    }
  }

  /** The latest window end in the queue (epoch ms): state.json may lag it after a crash. */
  latestWindowToMs(): number | null {
    const ends = this.list().map((e) => e.windowToMs);
    return ends.length ? Math.max(...ends) : null;
  }

  /** Counts one failed delivery (rename to the next `.aNNN`). */
  recordFailure(entry: OutboxEntry): OutboxEntry {
    const attempts = entry.attempts + 1;
    const file = entry.file.replace(
      /\.a\d{3}\./,
      `.a${String(Math.min(attempts, 999)).padStart(3, '0')}.`,
    );
    renameDurable(entry.path, join(this.dir, file));
    return { ...entry, file, path: join(this.dir, file), attempts };
  }

  /** Delivered: the file leaves the queue (kept in delivered/ when a retention is set). */
  remove(entry: OutboxEntry, keep = false, now = Date.now()): void {
    if (keep)
      renameDurable(
        entry.path,
        join(this.deliveredDir, `${String(now).padStart(13, '0')}-${entry.file}`),
      );
    else unlinkDurable(entry.path);
  }

  /** Delivered files still kept, oldest first, with when each was delivered. */
  delivered(): { file: string; deliveredAtMs: number; original: string }[] {
    return readdirSync(this.deliveredDir)
      .map((f) => {
        const m = /^(\d{13})-(.+)$/.exec(f);
        return m && namePattern.test(m[2])
          ? { file: f, deliveredAtMs: Number(m[1]), original: m[2] }
          : null;
      })
      .filter((e): e is { file: string; deliveredAtMs: number; original: string } => e !== null)
      .sort((a, b) => a.file.localeCompare(b.file));
  }

  /** Forgets delivered files older than the retention; returns how many. */
  purgeDelivered(olderThanMs: number): number {
    let n = 0;
    for (const d of this.delivered())
      if (d.deliveredAtMs < olderThanMs) {
        unlinkDurable(join(this.deliveredDir, d.file));
        n++;
      }
    return n;
  }

  /**
   * Puts back at the end of the queue every kept file delivered at or after `sinceMs`
   * (all when null), oldest first: the same bytes and sync_id, so the server stores
   * each payload once whatever it already has. Returns how many.
   */
  requeueDelivered(sinceMs: number | null): number {
    const files = this.delivered().filter((d) => sinceMs === null || d.deliveredAtMs >= sinceMs);
    let seq = this.nextSeq();
    for (const d of files) {
      const m = namePattern.exec(d.original)!;
      const file = `${String(seq++).padStart(12, '0')}-${m[2]}-${m[3]}.a000.json.gz`;
      renameDurable(join(this.deliveredDir, d.file), join(this.dir, file));
    }
    return files.length;
  }

  /** Moves the file to dead_letter/ with `<file>.reason.json` beside it (reason first). */
  deadLetter(entry: OutboxEntry, reason: Omit<DeadLetterReason, 'moved_at' | 'attempts'>): void {
    const full: DeadLetterReason = {
      ...reason,
      attempts: entry.attempts,
      moved_at: new Date().toISOString(),
    };
    writeFileDurable(
      join(this.deadLetterDir, `${entry.file}.reason.json`),
      `${JSON.stringify(full, null, 2)}\n`,
    );
    renameDurable(entry.path, join(this.deadLetterDir, entry.file));
  }

  /**
   * Moves every dead-lettered file back to the end of the queue with its attempts
   * reset (after the cause was fixed); returns how many.
   */
  requeueDeadLetters(): number {
    const files = this.deadLetters();
    let seq = this.nextSeq();
    for (const f of files) {
      const m = namePattern.exec(f)!;
      const file = `${String(seq++).padStart(12, '0')}-${m[2]}-${m[3]}.a000.json.gz`;
      renameDurable(join(this.deadLetterDir, f), join(this.dir, file));
      unlinkDurable(join(this.deadLetterDir, `${f}.reason.json`));
    }
    return files.length;
  }
}
