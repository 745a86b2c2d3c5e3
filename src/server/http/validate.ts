import type { z } from 'zod';
import { SyncError } from '../../protocol/index.js';

/** Parses a request part against its protocol schema or throws VALIDATION_FAILED with every issue's path. */
export function parseRequest<S extends z.ZodType>(
  schema: S,
  value: unknown,
  part: string,
): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues
    .slice(0, 20)
    .map((i) => ({ path: [part, ...i.path.map(String)].join('.'), message: i.message }));
  throw new SyncError(
    'VALIDATION_FAILED',
    `invalid ${part}: ${issues[0]?.path}: ${issues[0]?.message}`,
    { details: { issues } },
  );
}
