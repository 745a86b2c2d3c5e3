import { quoteIdent as q } from './quote.js';
import type { Row, Storage } from './storage.js';

/** Ids per `IN (…)` lookup: under both engines' parameter limits. */
const idChunk = 500;

/**
 * The stored rows of one table under the given ids (raw, undecoded), limited to one store
 * when the table is store-scoped and `storeId` is given. A read for callers that compare
 * what a client sends with what is stored (single events skip writes that change nothing).
 */
export async function readRowsById(
  storage: Storage,
  table: { name: string; storeColumn?: string | null },
  ids: readonly string[],
  storeId: string | null,
): Promise<Row[]> {
  const out: Row[] = [];
  await storage.read(async (tx) => {
    for (let i = 0; i < ids.length; i += idChunk) {
      const chunk = ids.slice(i, i + idChunk);
      const scoped = storeId !== null && table.storeColumn;
      out.push(
        ...(await tx.all<Row>(
          `SELECT * FROM ${q(table.name)} WHERE id IN (${chunk.map(() => '?').join(', ')})${
            scoped ? ` AND ${q(table.storeColumn as string)} = ?` : ''
          }`,
          scoped ? [...chunk, storeId] : [...chunk],
        )),
      );
    }
  });
  return out;
}
