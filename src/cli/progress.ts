import type { Progress } from '../client/index.js';
import { t } from './messages.js';

/**
 * The progress line for a terminal's push or pull, or null when there is nothing
 * to show. Sales written while a push runs join the outbox after its total was
 * counted, so the total grows with them: the counter never reads "120/100".
 */
export function progressLine(p: Progress): string | null {
  if (!p.total) return null;
  const total = Math.max(p.total, p.done);
  const done = Math.min(p.done, total);
  if (p.phase === 'pull') {
    const pct = Math.min(100, Math.round((done / total) * 100));
    return t('pullProgress', {
      done: String(done),
      total: String(total),
      pct: String(pct),
      tables: p.tables.join(','),
    });
  }
  return t('pushProgress', { done: String(done), total: String(total) });
}
