import type {
  AppliedResult,
  ErrorCode,
  MutationStatus,
  PushResponse,
  RejectedResult,
} from '../../../protocol/index.js';
import type { Prepared } from './context.js';

/** Thrown inside a mutation's savepoint: its writes are undone and it is answered `rejected`. */
export class Rejection extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** What a rejection echoes of the mutation it answers (which may be malformed). */
type Echo = { eventId: string; table: string; record?: unknown };

export function rejected(m: Echo, code: ErrorCode, message: string): RejectedResult {
  const id = (m.record as { id?: unknown } | null | undefined)?.id;
  return {
    eventId: m.eventId,
    status: 'rejected',
    table: m.table,
    ...(typeof id === 'string' ? { id } : {}),
    reason: { code, message },
  };
}

export function applied(p: Prepared, version?: number): AppliedResult {
  // One object per result, built once (no spread of a temporary): a batch answers thousands.
  const result: AppliedResult = {
    eventId: p.mutation.eventId,
    status: 'applied',
    table: p.table.name,
    id: p.id,
  };
  if (version !== undefined) result.version = version;
  return result;
}

/** The response summary: how many results of each status. */
export function summarize(results: readonly { status: MutationStatus }[]): PushResponse['summary'] {
  const summary = { applied: 0, duplicate: 0, conflict: 0, rejected: 0 };
  for (const r of results) summary[r.status]++;
  return summary;
}
