import { v7 as uuidv7 } from 'uuid';
import { syncSchemaSchema, type TableDef } from '../../protocol/index.js';
import type { CheckClient } from './check-client.js';
import { expect, runChecks, upsert, writableTable, type CheckResult } from './check-client.js';

type Device = { machineId: string; token: string };

/**
 * `pdv-sync reliability`: the sync guarantees, checked on the live server in the
 * store reserved for checks (insert-only rows cannot be deleted, so they stay
 * there, away from real stores, stats and the console). Two devices of that
 * store play two terminals; both are revoked at the end.
 */
export async function reliabilityChecks(
  client: CheckClient,
  report: (r: CheckResult) => void,
): Promise<CheckResult[]> {
  const s = await client.call('GET', '/api/schema', client.adminToken);
  const parsed = syncSchemaSchema.safeParse(s.body);
  if (s.status !== 200 || !parsed.success) {
    const r = { name: 'schema', ok: false, detail: `GET /api/schema answered ${s.status}` };
    report(r);
    return [r];
  }
  let table: TableDef;
  try {
    table = writableTable(parsed.data);
  } catch (err) {
    const r = { name: 'schema', ok: false, detail: (err as Error).message };
    report(r);
    return [r];
  }
  const devices: Device[] = [];
  const both = async (): Promise<[Device, Device]> => {
    if (devices.length === 0) devices.push(await client.device('a'), await client.device('b'));
    return [devices[0], devices[1]];
  };
  /** B's cursor at the head of the table's changes. */
  const head = async (b: Device): Promise<string | undefined> => {
    let since: string | undefined;
    for (;;) {
      const page = await client.pull(b.token, { tables: table.name, limit: 1000, since });
      since = page.cursor;
      if (!page.hasMore) return since;
    }
  };
  const results = await runChecks(
    [
      {
        name: 'idempotency',
        run: async () => {
          const [a] = await both();
          const m = upsert(table, uuidv7());
          const first = await client.push(a, [m]);
          expect(
            first.results[0]?.status === 'applied',
            `first delivery: ${first.results[0]?.status}`,
          );
          const second = await client.push(a, [m]);
          expect(
            second.results[0]?.status === 'duplicate',
            `the same event sent twice was answered "${second.results[0]?.status}", not "duplicate"`,
          );
          const n = upsert(table, uuidv7());
          const answers = await Promise.all(Array.from({ length: 20 }, () => client.push(a, [n])));
          const applied = answers.filter((r) => r.results[0]?.status === 'applied').length;
          const duplicate = answers.filter((r) => r.results[0]?.status === 'duplicate').length;
          expect(
            applied === 1 && duplicate === 19,
            `20 concurrent deliveries of one event: ${applied} applied, ${duplicate} duplicate (want 1 and 19)`,
          );
          return 'same event twice: duplicate; 20 concurrent: 1 applied, 19 duplicate';
        },
      },
      {
        name: 'stale update becomes a conflict',
        run: async () => {
          const [a, b] = await both();
          const id = uuidv7();
          const now = Date.now();
          const created = await client.push(a, [
            upsert(table, id, { updatedAt: new Date(now).toISOString() }),
          ]);
          expect(
            created.results[0]?.status === 'applied',
            `creating: ${created.results[0]?.status}`,
          );
          const version = created.results[0]?.version ?? 1;
          const newer = await client.push(a, [
            upsert(table, id, {
              updatedAt: new Date(now + 1000).toISOString(),
              baseVersion: version,
            }),
          ]);
          expect(newer.results[0]?.status === 'applied', `updating: ${newer.results[0]?.status}`);
          const stale = await client.push(b, [
            upsert(table, id, {
              updatedAt: new Date(now - 60_000).toISOString(),
              baseVersion: version,
            }),
          ]);
          const r = stale.results[0];
          expect(
            r?.status === 'conflict',
            `an update made on an old version was answered "${r?.status}", not "conflict"`,
          );
          return `answered conflict (${r.resolution ?? 'resolved'}) with the server's row`;
        },
      },
      {
        name: 'tombstone reaches another terminal',
        run: async () => {
          const [a, b] = await both();
          const id = uuidv7();
          const created = await client.push(a, [upsert(table, id)]);
          expect(
            created.results[0]?.status === 'applied',
            `creating: ${created.results[0]?.status}`,
          );
          const cursor = await head(b);
          const del = await client.push(a, [
            { eventId: uuidv7(), table: table.name, op: 'delete', record: { id } },
          ]);
          expect(del.results[0]?.status === 'applied', `deleting: ${del.results[0]?.status}`);
          const page = await client.pull(b.token, { tables: table.name, since: cursor });
          const seen = page.changes.find((c) => c.record['id'] === id);
          expect(seen, 'the other terminal did not receive the delete');
          expect(seen.op === 'delete', `the other terminal received "${seen.op}", not "delete"`);
          return 'the delete reached the other terminal as a tombstone';
        },
      },
      {
        name: 'cursor resume',
        run: async () => {
          const [a, b] = await both();
          const cursor = await head(b);
          const ids = Array.from({ length: 5 }, () => uuidv7());
          const pushed = await client.push(
            a,
            ids.map((id) => upsert(table, id)),
          );
          expect(pushed.summary.applied === 5, `writing 5 rows: ${JSON.stringify(pushed.summary)}`);
          const seen: string[] = [];
          let since = cursor;
          let pages = 0;
          for (;;) {
            const page = await client.pull(b.token, { tables: table.name, since, limit: 2 });
            pages++;
            expect(pages <= 10, `no end after ${pages} pages of 2: the cursor does not advance`);
            for (const c of page.changes) seen.push(String(c.record['id']));
            expect(
              page.cursor !== since || page.changes.length === 0,
              'a page with changes did not move the cursor',
            );
            since = page.cursor;
            if (!page.hasMore) break;
          }
          // Other writers may share the checks store: each of ours exactly once is the guarantee.
          const ours = seen.filter((id) => ids.includes(id));
          expect(
            ours.length === 5 && new Set(ours).size === 5,
            `resuming in pages of 2 gave ${ours.length} change(s) for our 5 writes (${new Set(ours).size} distinct)`,
          );
          const after = await client.pull(b.token, { tables: table.name, since });
          expect(
            after.changes.length === 0,
            `${after.changes.length} change(s) after the last cursor`,
          );
          return `5 writes in ${pages} pages, each once, nothing after the last cursor`;
        },
      },
    ],
    report,
  );
  for (const d of devices) await client.revoke(d.machineId).catch(() => undefined);
  return results;
}
