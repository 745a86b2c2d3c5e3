import { readFileSync } from 'node:fs';
import { SyncError, syncSchemaSchema, type SyncSchema } from '../protocol/index.js';

/** Loads and validates the sync schema file; every problem is reported with its path in the file. */
export function loadSchema(file: string): SyncSchema {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new SyncError('SCHEMA_INVALID', `cannot read schema ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const parsed = syncSchemaSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new SyncError('SCHEMA_INVALID', `schema ${file} is invalid:\n  ${issues.join('\n  ')}`, {
      details: { issues },
    });
  }
  return parsed.data;
}
