import { v7 as uuidv7 } from 'uuid';
import {
  checksStoreId,
  type ChangesResponse,
  type Mutation,
  type PushResponse,
  type SyncSchema,
  type TableDef,
} from '../../protocol/index.js';

export type CheckResult = { name: string; ok: boolean; detail: string };

/** A check that failed, with what it saw. */
export class CheckFailed extends Error {}

export function expect(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CheckFailed(message);
}

/** Runs the checks in order; one failing check does not stop the others. */
export async function runChecks(
  checks: { name: string; run: () => Promise<string> }[],
  report: (r: CheckResult) => void,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const c of checks) {
    let r: CheckResult;
    try {
      r = { name: c.name, ok: true, detail: await c.run() };
    } catch (err) {
      r = { name: c.name, ok: false, detail: err instanceof Error ? err.message : String(err) };
    }
    results.push(r);
    report(r);
  }
  return results;
}

type Answer<T> = { status: number; body: T; headers: Headers };

/** HTTP calls to a pdv-sync server with a token, each limited to 30 s. */
export class CheckClient {
  constructor(
    readonly server: string,
    readonly adminToken: string,
  ) {}

  async call<T = Record<string, unknown>>(
    method: string,
    path: string,
    token: string | null,
    body?: unknown,
  ): Promise<Answer<T>> {
    const res = await fetch(new URL(path, this.server), {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {
      // Not JSON: the check reports the status.
    }
    return { status: res.status, body: json as T, headers: res.headers };
  }

  /** A device of the reserved checks store; revoke it when done. */
  async device(purpose: string): Promise<{ machineId: string; token: string }> {
    const machineId = `check-${purpose}-${uuidv7().slice(-12)}`;
    const r = await this.call<{ token?: string }>('POST', '/api/admin/devices', this.adminToken, {
      storeId: checksStoreId,
      machineId,
    });
    expect(r.status === 201 && r.body.token, `creating a device answered ${r.status}`);
    return { machineId, token: r.body.token };
  }

  async revoke(machineId: string): Promise<number> {
    return (
      await this.call(
        'DELETE',
        `/api/admin/devices/${encodeURIComponent(machineId)}`,
        this.adminToken,
      )
    ).status;
  }

  async push(
    device: { machineId: string; token: string },
    mutations: Mutation[],
  ): Promise<PushResponse> {
    const r = await this.call<PushResponse>('POST', '/api/sync/push', device.token, {
      machineId: device.machineId,
      mutations,
    });
    expect(r.status === 200, `push answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
    return r.body;
  }

  async pull(
    token: string,
    query: { since?: string | undefined; tables: string; limit?: number },
  ): Promise<ChangesResponse> {
    const q = new URLSearchParams({ tables: query.tables });
    if (query.since) q.set('since', query.since);
    if (query.limit) q.set('limit', String(query.limit));
    const r = await this.call<ChangesResponse>('GET', `/api/sync/changes?${q.toString()}`, token);
    expect(r.status === 200, `pull answered ${r.status}`);
    return r.body;
  }
}

/** A table the checks can write, update and delete in a store (both ways, mutable, per store). */
export function writableTable(schema: SyncSchema): TableDef {
  const table = schema.tables.find(
    (t) => t.direction === 'both' && t.kind === 'mutable' && t.scope === 'store',
  );
  expect(table, 'the schema has no two-way, mutable, per-store table to check with');
  return table;
}

/** A record with every required column filled, in the checks store. */
export function checkRecord(table: TableDef, id: string): { id: string } & Record<string, unknown> {
  const record: { id: string } & Record<string, unknown> = { id };
  for (const c of table.columns) {
    if (c.name === 'id' || (!c.required && c.name !== table.storeColumn)) continue;
    if (c.name === table.storeColumn) record[c.name] = checksStoreId;
    else if (c.type === 'integer' || c.type === 'number' || c.type === 'decimal')
      record[c.name] = 1;
    else if (c.type === 'boolean') record[c.name] = true;
    else if (c.type === 'timestamp') record[c.name] = new Date().toISOString();
    else if (c.type === 'json') record[c.name] = {};
    else record[c.name] = 'pdv-sync check';
  }
  return record;
}

export function upsert(table: TableDef, id: string, extra: Partial<Mutation> = {}): Mutation {
  return {
    eventId: uuidv7(),
    table: table.name,
    op: 'upsert',
    record: checkRecord(table, id),
    ...extra,
  };
}
