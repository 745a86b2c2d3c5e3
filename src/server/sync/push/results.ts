import type {
  AppliedResult,
  ErrorCode,
  Mutation,
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

export function rejected(m: Mutation, code: ErrorCode, message: string): RejectedResult {
  return {
    eventId: m.eventId,
    status: 'rejected',
    table: m.table,
    ...(typeof m.record.id === 'string' ? { id: m.record.id } : {}),
    reason: { code, message },
  };
}

export function applied(p: Prepared, version?: number): AppliedResult {
  return {
    eventId: p.mutation.eventId,
    status: 'applied',
    table: p.table.name,
    id: p.id,
    ...(version !== undefined ? { version } : {}),
  };
}

/** The response summary: how many results of each status. */
export function summarize(results: readonly { status: MutationStatus }[]): PushResponse['summary'] {
  const summary = { applied: 0, duplicate: 0, conflict: 0, rejected: 0 };
  for (const r of results) summary[r.status]++;
  return summary;
}
