import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { deflateSync, gunzipSync, gzipSync, inflateSync } from 'node:zlib';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { z } from 'zod';
import {
  addDeviceRequestSchema,
  addDeviceResponseSchema,
  epochResponseSchema,
  wsStatsSchema,
  agentPayloadIngestSchema,
  agentMoneySchema,
  agentPayloadSchema,
  agentSyncId,
  changesQuerySchema,
  changesResponseSchema,
  errorBodySchema,
  errorCatalogue,
  eventActions,
  eventIdSchema,
  ingestListQuerySchema,
  ingestListResponseSchema,
  ingestQuerySchema,
  ingestResponseSchema,
  machineIdSchema,
  mutationResultSchema,
  mutationSchema,
  pushEnvelopeSchema,
  pushRequestSchema,
  pushResponseSchema,
  reconcileHistoryQuerySchema,
  reconcileRequestSchema,
  reconcileResponseSchema,
  recordSchema,
  rowIdSchema,
  schemaResponseSchema,
  syncEventResponseSchema,
  syncEventSchema,
  tableSyncEnvelopeSchema,
  tableSyncRequestSchema,
  tableSyncResponseSchema,
  tableWriteParamsSchema,
  validateRecord,
  type AgentPayload,
  type ErrorCode,
  parseCursorPosition,
  type TableDef,
} from '../../protocol/index.js';
import * as protocol from '../../protocol/index.js';
import type { RouteInfo } from '../index.js';
import { checkingContract } from '../../testing/contract-check.js';
import { adminToken, startTestServer, type TestServer } from '../../testing/test-server.js';
import { zodArbitrary } from '../../testing/zod-arbitrary.js';
import { findTextIssues, guardsBody } from './text-guard.js';
import { findBadText } from '../ingest/payload-text.js';

/**
 * Every registered route is fuzzed with requests generated from its own zod
 * schemas, mixed with mutations (dropped fields, wrong types, huge strings,
 * deep nesting, random JSON, random bytes, wrong content types and encodings).
 * For each request an oracle, written from the route's documented order of
 * checks, says which answers are acceptable; any 5xx, any error body outside the
 * catalogue or any unexpected status fails the property.
 */

/**
 * Terminal routes (GET /api/session, POST /api/sync/status, GET /api/sync/terminals) are being
 * added concurrently: their models exist exactly when the protocol exports their schemas.
 */
const upcoming = protocol as unknown as Record<string, z.ZodObject | undefined>;
const terminalStatusSchema = upcoming['terminalStatusSchema'];
const sessionResponseSchema = upcoming['sessionResponseSchema'];

const runs = Number(process.env.PDV_SYNC_FUZZ_RUNS ?? 200);
const maxBatch = 50;
const bodyLimit = 65_536;
const deviceStore = 'fuzz-store';
const deviceMachine = 'fuzz-till-1';
const otherStore = 'other-store';
const otherMachine = 'fuzz-other-till';

// Every answer is also checked against the OpenAPI document.
const ts: TestServer = checkingContract(
  await startTestServer('sqlite', {
    maxBatch,
    bodyLimitBytes: bodyLimit,
    // The fuzzer sends thousands of requests per token; rate limiting has its own tests.
    rateLimit: 1_000_000_000,
    // Its deep and oversized bodies add up to more than a token's byte budget over a run; the
    // cost limiter (429 when in debt) has its own tests.
    costBurstBytes: 1024 ** 4,
    costRateBytes: 1024 ** 4,
  }),
);
after(() => ts.close());
const deviceToken = await ts.device(deviceStore, deviceMachine);
const otherToken = await ts.device(otherStore, otherMachine);
const { names, meta } = ts.server.ctx;
const tables = names.tables;

// ---------------------------------------------------------------------------
// Seed rows, so generated ids hit existing rows: updates, conflicts, scope checks.

const idPool = ['r1', 'r2', 'r3', 'r4', '7'] as const;
{
  const seed = async (token: string, machineId: string, mutations: unknown[]) => {
    const res = await ts.request(token, {
      method: 'POST',
      url: '/api/sync/push',
      payload: { machineId, mutations },
    });
    assert.equal(res.statusCode, 200, res.body);
    const statuses = res.json<{ results: { status: string }[] }>().results.map((r) => r.status);
    assert.ok(
      statuses.every((s) => s === 'applied'),
      res.body,
    );
  };
  await seed(deviceToken, deviceMachine, [
    { eventId: 'seed-1', table: 'pedidos', op: 'upsert', record: { id: 'r1', status: 'aberto' } },
    {
      eventId: 'seed-2',
      table: 'estoque',
      op: 'upsert',
      record: { id: 'r2', produto_id: 'r1', quantidade: 3 },
    },
    {
      eventId: 'seed-3',
      table: 'vendas',
      op: 'upsert',
      record: { id: 'r3', data_hora: '2024-01-01T10:00:00Z', total: 5 },
    },
  ]);
  await seed(otherToken, otherMachine, [
    { eventId: 'seed-4', table: 'pedidos', op: 'upsert', record: { id: 'r4', status: 'aberto' } },
  ]);
  // The console routes' generated paths name this till: it must be a terminal the console
  // knows (one that has reported), whatever the earlier routes' random runs did.
  const status = await ts.request(otherToken, {
    method: 'POST',
    url: '/api/sync/status',
    payload: {
      machineId: otherMachine,
      state: 'idle',
      backlog: 0,
      lastSuccessAt: null,
      lastError: null,
    },
  });
  assert.ok(status.statusCode < 300, status.body);
  await seed(adminToken, 'admin', [
    {
      eventId: 'seed-5',
      table: 'produtos',
      op: 'upsert',
      record: { id: 'r1', nome: 'x', preco: 1 },
    },
    { eventId: 'seed-6', table: 'clientes', op: 'upsert', record: { id: 'r2', nome: 'y' } },
  ]);
}
{
  // An agent payload whose body GET /api/ingest/v4/:syncId can read back.
  const res = await ts.request(deviceToken, {
    method: 'POST',
    url: '/api/ingest/v4',
    payload: {
      schema_version: '4.0.0',
      store: { id_ponto_venda: 1 },
      window: { from: '2024-05-20T10:00:00-03:00', to: '2024-05-20T10:10:00-03:00' },
      integrity: { sync_id: 'sync-fuzz-1' },
    },
  });
  assert.equal(res.statusCode, 200, res.body);
}
const firstPage = await ts.request(adminToken, { method: 'GET', url: '/api/sync/changes?limit=2' });
const realCursor = firstPage.json<{ cursor: string }>().cursor;

// ---------------------------------------------------------------------------
// Schemas of the inputs, as the routes' contracts name them (src/protocol/routes.ts).

const listQuery = protocol.listQuerySchema;
const dateQuery = protocol.ordersQuerySchema;
const conflictsQuery = protocol.conflictsQuerySchema;
const writeBody = protocol.recordBodySchema;
const revokeParams = protocol.machineParamsSchema;

/** A record of one table as its columns declare it, with ids and stores from small pools. */
function tableRecordSchema(table: TableDef): z.ZodType {
  const shape: Record<string, z.ZodType> = {
    _op: z.enum(['upsert', 'delete']).optional(),
  };
  for (const c of table.columns) {
    let s: z.ZodType;
    if (c.name === 'id') s = z.enum(idPool);
    else if (c.name === table.storeColumn) s = z.enum([deviceStore, otherStore]);
    else if (c.type === 'text') s = z.string().max(30);
    else if (c.type === 'integer') s = z.int();
    else if (c.type === 'number') s = z.number();
    // Amounts: whole numbers or decimal text with the column's two decimals (a float with a
    // real third decimal is refused by the coercion rule, on purpose).
    else if (c.type === 'decimal')
      s = z.union([
        z
          .int()
          .min(-(10 ** 12))
          .max(10 ** 12),
        z.string().regex(/^-?\d{1,12}\.\d{2}$/),
      ]);
    else if (c.type === 'boolean') s = z.boolean();
    else if (c.type === 'timestamp')
      s = z.union([
        z.iso.datetime({ offset: true }),
        z.iso.date(),
        z
          .int()
          .min(0)
          .max(2 ** 40),
      ]);
    else s = z.unknown();
    shape[c.name] = c.required || c.name === 'id' ? s : s.nullable().optional();
  }
  return z.object(shape);
}

// ---------------------------------------------------------------------------
// Arbitraries: zod-generated, with overrides that steer values towards the interesting.

const memo = <T>(make: (key: string) => T) => {
  const cache = new Map<string, T>();
  return (key: string): T => {
    if (!cache.has(key)) cache.set(key, make(key));
    return cache.get(key) as T;
  };
};
const overrides = new Map<unknown, fc.Arbitrary<unknown>>();
const plain = (schema: unknown) =>
  zodArbitrary(schema, { overrides: new Map([...overrides].filter(([k]) => k !== schema)) });
const mostly = <T>(likely: fc.Arbitrary<T>, other: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 4, arbitrary: likely }, { weight: 1, arbitrary: other });

const tableNames = tables.flatMap((t) => [t.name, ...t.aliases]);
const entityTypes = [...names.entityNames().keys()].flatMap((e) =>
  eventActions.map((a) => `${e}_${a}`),
);
const databaseId = meta.databaseId;
const cursors = fc.constantFrom(
  realCursor,
  `c1.${databaseId}.0`,
  `c1.${databaseId}.999999999`,
  'c1.deadbeef.1',
  `c3.${databaseId}.0.1.0.2`,
  `c3.${databaseId}.0.1`,
  '0',
  '',
  'garbage',
);
const tableRecord = fc
  .constantFrom(...tables)
  .chain((t) => zodArbitrary(tableRecordSchema(t)) as fc.Arbitrary<Record<string, unknown>>);

// An agent's amounts are cents, now and then any double (refused when it has a real third decimal).
overrides.set(
  agentMoneySchema,
  fc.oneof(
    { weight: 19, arbitrary: fc.integer({ min: -(10 ** 9), max: 10 ** 9 }).map((c) => c / 100) },
    { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
  ),
);
overrides.set(
  machineIdSchema,
  fc.oneof(
    { weight: 6, arbitrary: fc.constant(deviceMachine) },
    { weight: 1, arbitrary: fc.constantFrom('admin', otherMachine) },
    { weight: 1, arbitrary: plain(machineIdSchema) },
  ),
);
overrides.set(
  eventIdSchema,
  fc.oneof(fc.uuid(), fc.constantFrom('dup-1', 'dup-2', 'seed-1'), plain(eventIdSchema)),
);
overrides.set(mutationSchema.shape.table, mostly(fc.constantFrom(...tableNames), fc.string()));
overrides.set(
  changesQuerySchema.shape.tables,
  mostly(
    fc
      .subarray(tableNames, { minLength: 1, maxLength: 4 })
      .chain((l) => fc.constantFrom(l.join(','), l.join(' , '), `${l.join(',')},`)),
    plain(changesQuerySchema.shape.tables),
  ),
);
overrides.set(
  changesQuerySchema.shape.since,
  mostly(cursors, plain(changesQuerySchema.shape.since)),
);
overrides.set(
  tableSyncRequestSchema.shape.since,
  mostly(cursors, plain(tableSyncRequestSchema.shape.since)),
);
overrides.set(syncEventSchema.shape.type, mostly(fc.constantFrom(...entityTypes), fc.string()));
overrides.set(
  syncEventSchema.shape.data,
  fc.oneof(
    { weight: 3, arbitrary: tableRecord },
    {
      weight: 1,
      arbitrary: tableRecord.map((r) =>
        Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'id')),
      ),
    },
    { weight: 1, arbitrary: plain(syncEventSchema.shape.data) },
  ),
);
overrides.set(recordSchema, mostly(tableRecord, plain(recordSchema)));
/** A coherent single event: the type names a table, the data is a record of that table. */
const tableEventOf = memo((type) => {
  const table = names.entityNames().get(type.replace(/_(created|updated|deleted)$/, ''));
  return zodArbitrary(
    syncEventSchema.extend({ type: z.literal(type), data: tableRecordSchema(table!) }),
    { overrides },
  );
});
overrides.set(
  syncEventSchema,
  mostly(fc.constantFrom(...entityTypes).chain(tableEventOf), plain(syncEventSchema)),
);
const tableMutation = fc.constantFrom(...tables).chain((t) => {
  const counters = t.columns.filter((c) => c.counter).map((c) => c.name);
  return zodArbitrary(
    z.object({
      eventId: eventIdSchema,
      table: z.enum([t.name, ...t.aliases]),
      op: z.enum(['upsert', 'delete']),
      record: tableRecordSchema(t),
      baseVersion: mutationSchema.shape.baseVersion,
      updatedAt: mutationSchema.shape.updatedAt,
      deltas: counters.length
        ? z
            .record(z.enum(counters as [string, ...string[]]), z.number().min(-1e6).max(1e6))
            .optional()
        : mutationSchema.shape.deltas,
    }),
    { overrides },
  );
});
overrides.set(mutationSchema, mostly(tableMutation, plain(mutationSchema)));
overrides.set(reconcileRequestSchema.shape.machineId, overrides.get(machineIdSchema)!);
for (const schema of [
  protocol.rangesRequestSchema,
  protocol.rowsFetchRequestSchema,
  protocol.divergentReportSchema,
])
  overrides.set(schema.shape.machineId, overrides.get(machineIdSchema)!);
overrides.set(
  protocol.rangeRequestItemSchema.shape.table,
  mostly(fc.constantFrom(...tableNames), plain(protocol.rangeRequestItemSchema.shape.table)),
);
if (terminalStatusSchema)
  overrides.set(terminalStatusSchema.shape['machineId'], overrides.get(machineIdSchema)!);
overrides.set(
  reconcileRequestSchema.shape.clientSummary.keyType,
  mostly(fc.constantFrom(...tableNames), plain(reconcileRequestSchema.shape.clientSummary.keyType)),
);

// Agent payloads: windows that end after they start, stores from the pools.
overrides.set(
  agentPayloadSchema.shape.window,
  mostly(
    fc
      .tuple(
        fc.date({
          min: new Date('2020-01-01T00:00:00Z'),
          max: new Date('2030-12-31T00:00:00Z'),
          noInvalidDate: true,
        }),
        fc.integer({ min: 0, max: 600 }),
        fc.constantFrom('Z', '-03:00'),
      )
      .map(([d, minutes, zone]) => {
        const local = (ms: number) =>
          new Date(ms + (zone === 'Z' ? 0 : -3 * 3_600_000)).toISOString().replace('Z', zone);
        const from = d.getTime();
        return { from: local(from), to: local(from + minutes * 60_000), minutes };
      }),
    plain(agentPayloadSchema.shape.window),
  ),
);
for (const schema of [ingestQuerySchema.shape.store, ingestListQuerySchema.shape.store])
  overrides.set(schema, mostly(fc.constantFrom(deviceStore, otherStore), plain(schema)));

const gen = (schema: unknown) => zodArbitrary(schema, { overrides });
/** A payload whose sync_id matches its content, computed as the agent does (over the JSON sent). */
const signedPayload = gen(agentPayloadSchema).map((p) => {
  const sent = JSON.parse(JSON.stringify(p)) as AgentPayload;
  return { ...sent, integrity: { ...sent.integrity, sync_id: agentSyncId(sent) } };
});
const recordOf = memo(
  (name) =>
    zodArbitrary(tableRecordSchema(names.resolve(name)!)) as fc.Arbitrary<Record<string, Json>>,
);
/** PUT/PATCH bodies: mostly a record of the table in the path, with the path's id, another or none. */
const writeBodyFor = memo((key) => {
  const [tableName, id] = JSON.parse(key) as [string, string];
  if (!names.resolve(tableName)) return gen(writeBody);
  return mostly(
    fc.tuple(recordOf(tableName), fc.constantFrom('path', 'none', 'pool')).map(([r, how]) => {
      if (how === 'pool') return r;
      const rest = Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'id'));
      return how === 'path' ? { ...rest, id } : rest;
    }),
    gen(writeBody),
  );
});
/** Per-table form bodies: mostly records of the table in the path. */
const tableSyncBodyFor = memo((tableName) =>
  names.resolve(tableName)
    ? zodArbitrary(tableSyncRequestSchema, {
        overrides: new Map([
          ...overrides,
          [recordSchema, mostly(recordOf(tableName), plain(recordSchema))],
        ]),
      })
    : gen(tableSyncRequestSchema),
);

// ---------------------------------------------------------------------------
// Mutations of a generated body.

type Json = unknown;
/** Deep nesting is spliced into the JSON text: JSON.stringify itself overflows the stack on it. */
const deepMarker = (depth: number, arrays: boolean) => `\u0001deep:${depth}:${arrays ? 'a' : 'o'}`;
const deepRx = /"\\u0001deep:(\d+):([ao])"/g;
function serialise(value: Json): string {
  return (JSON.stringify(value) ?? 'null').replace(deepRx, (_m, d: string, kind: string) => {
    const depth = Number(d);
    return kind === 'a'
      ? `${'['.repeat(depth)}1${']'.repeat(depth)}`
      : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  });
}

type Mutation = { kind: 'drop' } | { kind: 'set'; value: Json } | { kind: 'grow'; n: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constant({ kind: 'drop' as const }),
  fc
    .oneof(
      fc.constantFrom<Json>(0, -1, 1.5, '', 'x', true, false, null, [], {}, [{}], { id: {} }),
      fc.jsonValue({ maxDepth: 3 }),
    )
    .map((value) => ({ kind: 'set' as const, value })),
  fc.constantFrom(300, 5000, 70_000).map((n) => ({ kind: 'set' as const, value: 'é'.repeat(n) })),
  fc
    .tuple(fc.integer({ min: 50, max: 2_000 }), fc.boolean())
    .map(([d, arrays]) => ({ kind: 'set' as const, value: deepMarker(d, arrays) })),
  fc
    .constantFrom(1e308, -1e308, 2 ** 53 + 2, 8.64e15 + 1, -0, 0.1, 1e21)
    .map((value) => ({ kind: 'set' as const, value })),
  fc.integer({ min: maxBatch + 1, max: maxBatch + 30 }).map((n) => ({ kind: 'grow' as const, n })),
);

function pathsOf(value: Json): (string | number)[][] {
  const out: (string | number)[][] = [];
  const stack: { v: Json; p: (string | number)[] }[] = [{ v: value, p: [] }];
  while (stack.length && out.length < 300) {
    const { v, p } = stack.pop()!;
    out.push(p);
    if (Array.isArray(v)) v.forEach((x, i) => stack.push({ v: x, p: [...p, i] }));
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) stack.push({ v: x, p: [...p, k] });
  }
  return out;
}

function applyMutation(value: Json, path: (string | number)[], m: Mutation): Json {
  const root = structuredClone(value);
  if (m.kind === 'grow') {
    // Grows the top-level arrays (mutations, localUpdates) beyond maxBatch.
    if (root && typeof root === 'object' && !Array.isArray(root))
      for (const [k, v] of Object.entries(root))
        if (Array.isArray(v)) {
          const items = v as Json[];
          (root as Record<string, Json>)[k] = Array.from(
            { length: m.n },
            (_, i) => items[i % (items.length || 1)] ?? {},
          );
        }
    return root;
  }
  if (path.length === 0) return m.kind === 'drop' ? {} : m.value;
  let parent = root as Record<string | number, Json>;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, Json>;
  const last = path.at(-1)!;
  if (m.kind === 'set') parent[last] = m.value;
  else if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else delete parent[last];
  return root;
}

const mutated = (valid: fc.Arbitrary<Json>) =>
  valid.chain((v) => {
    const json = JSON.parse(JSON.stringify(v)) as Json;
    const paths = pathsOf(json);
    return fc
      .tuple(fc.constantFrom(...paths), mutationArb)
      .map(([p, m]) => applyMutation(json, p, m));
  });

// ---------------------------------------------------------------------------
// Transport: how the body travels, and what the server ends up seeing.

type SeenBody =
  | { kind: 'none' }
  | { kind: 'value'; value: Json; depth: number }
  | { kind: 'error'; codes: ErrorCode[] };

type BodySpec = {
  payload: string | Buffer;
  headers: Record<string, string>;
  seen: SeenBody;
  /** A content-encoding the server does not know: refused even where the body is not read. */
  unknownEncoding?: boolean;
};

const transports = [
  'json',
  'json-charset',
  'gzip',
  'deflate',
  'text',
  'unsupported',
  'no-content-type',
  'bad-encoding',
] as const;
type Transport = (typeof transports)[number];
const transportArb = fc.oneof(
  { weight: 20, arbitrary: fc.constant<Transport>('json') },
  { weight: 7, arbitrary: fc.constantFrom<Transport>(...transports) },
);

/** Nesting depth of a JSON text, counted without recursion. */
function textDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '[' || ch === '{') max = Math.max(max, ++depth);
    else if (ch === ']' || ch === '}') depth--;
  }
  return max;
}

/** Fastify's JSON parser refuses `__proto__` keys and `constructor.prototype` (secure-json-parse). */
function poisoned(value: Json): boolean {
  const stack: Json[] = [value];
  while (stack.length) {
    const v = stack.pop();
    if (!v || typeof v !== 'object') continue;
    for (const [k, x] of Object.entries(v)) {
      if (k === '__proto__') return true;
      if (k === 'constructor' && x && typeof x === 'object' && 'prototype' in x) return true;
      stack.push(x);
    }
  }
  return false;
}

function parseLikeServer(text: string): SeenBody {
  const stripped = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let value: Json;
  try {
    value = JSON.parse(stripped);
  } catch {
    return { kind: 'error', codes: ['INVALID_JSON'] };
  }
  return poisoned(value)
    ? { kind: 'error', codes: ['INVALID_JSON'] }
    : { kind: 'value', value, depth: textDepth(stripped) };
}

function encodeBody(raw: string | Buffer, transport: Transport): BodySpec {
  const bytes = Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'utf8');
  const text = bytes.toString('utf8');
  const tooLarge: SeenBody = { kind: 'error', codes: ['PAYLOAD_TOO_LARGE'] };
  const json = { 'content-type': 'application/json' };
  const asJson = () => (bytes.length > bodyLimit ? tooLarge : parseLikeServer(text));
  switch (transport) {
    case 'json':
      return { payload: bytes, headers: json, seen: asJson() };
    case 'json-charset':
      return {
        payload: bytes,
        headers: { 'content-type': 'application/json; charset=utf-8' },
        seen: asJson(),
      };
    case 'gzip':
      return {
        payload: gzipSync(bytes),
        headers: { ...json, 'content-encoding': 'gzip' },
        seen: asJson(),
      };
    case 'deflate':
      return {
        payload: deflateSync(bytes),
        headers: { ...json, 'content-encoding': 'deflate' },
        seen: asJson(),
      };
    case 'text':
      return {
        payload: bytes,
        headers: { 'content-type': 'text/plain' },
        seen: bytes.length > bodyLimit ? tooLarge : { kind: 'value', value: text, depth: 0 },
      };
    case 'unsupported':
      return {
        payload: bytes,
        headers: {
          'content-type': [
            'application/x-www-form-urlencoded',
            'application/xml',
            'application/octet-stream',
            'multipart/form-data; boundary=x',
          ][bytes.length % 4],
        },
        seen: { kind: 'error', codes: ['INVALID_JSON'] },
      };
    case 'no-content-type':
      return { payload: bytes, headers: {}, seen: { kind: 'error', codes: ['INVALID_JSON'] } };
    case 'bad-encoding': {
      const encoding = ['gzip', 'deflate', 'br', 'x-zip'][bytes.length % 4];
      return {
        payload: bytes,
        headers: { ...json, 'content-encoding': encoding },
        seen: { kind: 'error', codes: ['INVALID_JSON', 'PAYLOAD_TOO_LARGE'] },
        unknownEncoding: encoding === 'x-zip',
      };
    }
  }
}

/** A body: valid, mutated, random JSON or random bytes, in some transport. */
function bodyArb(valid: fc.Arbitrary<Json>): fc.Arbitrary<BodySpec> {
  const raw = fc.oneof(
    { weight: 4, arbitrary: valid.map(serialise) },
    { weight: 4, arbitrary: mutated(valid).map(serialise) },
    { weight: 1, arbitrary: fc.jsonValue().map(serialise) },
    {
      weight: 1,
      arbitrary: fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => Buffer.from(b)),
    },
  );
  return fc.tuple(raw, transportArb).map(([r, t]) => encodeBody(r, t));
}

// ---------------------------------------------------------------------------
// Query strings and path parameters.

type SeenQuery = Record<string, string | string[]>;

function buildQuery(value: Json): string {
  if (!value || typeof value !== 'object') return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    for (const item of Array.isArray(v) ? (v as Json[]) : [v])
      parts.push(
        `${encodeURIComponent(k)}=${encodeURIComponent(typeof item === 'string' && !item.startsWith('\u0001deep:') ? item : serialise(item))}`,
      );
  }
  return parts.join('&');
}

function parseQuery(query: string): SeenQuery {
  const out: SeenQuery = {};
  if (!query) return out;
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    const k = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
    const v = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1));
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

const queryKey = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 10 })
  .filter((k) => k !== '__proto__');
const queryValue = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('0', '-1', '1e3', '1.5', 'NaN', 'Infinity', '99999999999999999999', ' 5', '0x10'),
  fc.constantFrom(200, 5000).map((n) => 'q'.repeat(n)),
);
const randomQuery = fc.dictionary(
  queryKey,
  fc.oneof(queryValue, fc.array(queryValue, { minLength: 2, maxLength: 3 })),
  { maxKeys: 4 },
);

function queryArb(schema: unknown): fc.Arbitrary<string> {
  const valid = gen(schema);
  const shapeKeys = Object.keys((schema as { shape: object }).shape);
  return fc
    .oneof(
      { weight: 4, arbitrary: valid },
      { weight: 3, arbitrary: mutated(valid) },
      {
        weight: 2,
        arbitrary: fc
          .tuple(
            valid,
            fc.constantFrom(...shapeKeys),
            fc.oneof(queryValue, fc.array(queryValue, { minLength: 2, maxLength: 3 })),
          )
          .map(([v, k, x]) => ({ ...(v as object), [k]: x })),
      },
      { weight: 1, arbitrary: randomQuery },
    )
    .map(buildQuery);
}

const paramOk = (s: string) =>
  s !== '.' &&
  s !== '..' &&
  // The server's maxParamLength (400) covers 128 characters URL-encoded up to 3 bytes each.
  encodeURIComponent(s).length <= 400;
const paramArbs: Record<string, fc.Arbitrary<string>> = {
  table: mostly(
    fc.constantFrom(...tableNames),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
  ),
  id: mostly(
    fc.constantFrom(...idPool),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
  ),
  deadLetterId: mostly(fc.nat().map(String), fc.string({ maxLength: 20 })),
  syncId: fc.oneof(
    fc.constantFrom('sync-fuzz-1', 'a'.repeat(64)),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 140 }),
  ),
  machineId: fc.oneof(
    fc.constantFrom(otherMachine, 'never-registered'),
    zodArbitrary(addDeviceRequestSchema.shape.machineId).map(String),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
  ),
};

// ---------------------------------------------------------------------------
// The oracle: per route, the acceptable answers to what the server saw.

type Role = 'admin' | 'device';
type Seen = { role: Role; params: Record<string, string>; query: SeenQuery; body: Json };
type Outcome = { status: number; code?: ErrorCode };
const E = (code: ErrorCode): Outcome => ({ status: errorCatalogue[code].status, code });
const ok = (status = 200): Outcome[] => [{ status }];
const isObject = (v: Json): v is Record<string, Json> => v !== null && typeof v === 'object';
const valid = (schema: z.ZodType, v: Json) => schema.safeParse(v).success;

function cursorOutcomes(since: string | undefined, success: Outcome[]): Outcome[] {
  if (since === undefined || since === '' || since === '0') return success;
  const parsed = parseCursorPosition(since);
  if (!parsed) return [E('CURSOR_INVALID')];
  if (parsed.databaseId !== databaseId) return [E('CURSOR_EXPIRED')];
  return [...success, E('CURSOR_EXPIRED')];
}

function batchTooLarge(body: Json, field: string): boolean {
  const list = isObject(body) ? body[field] : undefined;
  return Array.isArray(list) && list.length > maxBatch;
}

const rejectionCodes: ErrorCode[] = [
  'RECORD_INVALID',
  'DIRECTION_FORBIDDEN',
  'EVENT_IMMUTABLE',
  'SCOPE_VIOLATION',
  // The push pipeline's per-mutation answers: a malformed field, a sale group refused with
  // its bad member (an order with a bad item), a role the table's writeRoles leave out.
  'MUTATION_INVALID',
  'GROUP_REJECTED',
  'WRITE_FORBIDDEN',
];

type Model = {
  /** Valid-ish bodies (POST/PUT/PATCH) for the given path parameters. */
  body?: (params: Record<string, string>) => fc.Arbitrary<Json>;
  /** The schema of the query string; absent = the route reads no query. */
  query?: z.ZodType;
  outcomes(seen: Seen): Outcome[];
  /** What a 2xx answer must look like. */
  reply: z.ZodType;
  check?(seen: Seen, reply: unknown): void;
};

const storeRowsOnly = (seen: Seen, table: TableDef | undefined, rows: Record<string, Json>[]) => {
  if (seen.role === 'device' && table?.storeColumn)
    for (const r of rows)
      assert.equal(r[table.storeColumn], deviceStore, 'a device read another store');
};
const listReply = (key: string) =>
  z.object({ [key]: z.array(z.record(z.string(), z.unknown())), total: z.number().int().min(0) });
const listModel = (tableName: string, key: string, query: z.ZodType): Model => ({
  query,
  outcomes: (s) => (valid(query, s.query) ? ok() : [E('VALIDATION_FAILED')]),
  reply: listReply(key),
  check: (s, r) =>
    storeRowsOnly(
      s,
      names.resolve(tableName),
      (r as Record<string, Record<string, Json>[]>)[key] ?? [],
    ),
});

/**
 * A row of a store-scoped table is (store, id): the admin naming no store may be answered 400
 * STORE_REQUIRED (always for a write, for a read when several stores use the id).
 */
function storeRequired(role: string, tableName: string | undefined): ReturnType<typeof E>[] {
  const table = tableName === undefined ? undefined : names.resolve(tableName);
  return role === 'admin' && table?.storeColumn ? [E('STORE_REQUIRED')] : [];
}

function writeModel(mode: 'put' | 'patch' | 'delete'): Model {
  return {
    ...(mode === 'delete'
      ? {}
      : {
          body: (p: Record<string, string>) => writeBodyFor(JSON.stringify([p['table'], p['id']])),
        }),
    outcomes: ({ role, params, body }) => {
      if (!valid(tableWriteParamsSchema, params)) return [E('VALIDATION_FAILED')];
      const table = names.resolve(params['table']);
      if (!table) return [E('UNKNOWN_TABLE')];
      // The fuzzer sends no ?storeId=: an admin write of a store-scoped row names its store in the body.
      const store = storeRequired(role, table.name);
      if (mode === 'delete')
        return store.length ? store : table.kind === 'event' ? [E('EVENT_IMMUTABLE')] : ok();
      const parsed = writeBody.safeParse(body);
      if (!parsed.success) return [E('VALIDATION_FAILED')];
      const id = parsed.data['id'];
      if (id !== undefined && id !== params['id'] && id !== Number(params['id']))
        return [E('VALIDATION_FAILED')];
      if (store.length && table.storeColumn && parsed.data[table.storeColumn] == null) return store;
      const record = { ...parsed.data, id: params['id'] };
      if (mode === 'put' && !validateRecord(table, record, { partial: false }).ok)
        return [E('RECORD_INVALID')];
      return [
        ...ok(),
        E('CONFLICT'),
        ...rejectionCodes.filter((c) => c !== 'DIRECTION_FORBIDDEN').map(E),
      ];
    },
    reply: mutationResultSchema,
  };
}

function terminalModels(status: z.ZodObject, session: z.ZodObject): Record<string, Model> {
  return {
    'GET /api/session': {
      outcomes: () => ok(),
      reply: session,
      check: (seen, reply) => {
        const r = reply as { role: string; machineId: string; storeId: string | null };
        assert.equal(r.role, seen.role);
        if (seen.role === 'device') {
          assert.equal(r.machineId, deviceMachine);
          assert.equal(r.storeId, deviceStore);
        }
      },
    },
    'POST /api/sync/status': {
      body: () => gen(status),
      outcomes: ({ role, body }) => {
        const p = status.safeParse(body);
        if (!p.success) return [E('VALIDATION_FAILED')];
        if (role === 'device' && p.data['machineId'] !== deviceMachine)
          return [E('MACHINE_MISMATCH')];
        return ok();
      },
      reply: z.object({ success: z.literal(true), receivedAt: z.string() }),
    },
    'GET /api/sync/terminals': {
      outcomes: () => ok(),
      reply: z.object({ terminals: z.array(z.object({ storeId: z.string().nullable() }).loose()) }),
      check: (seen, reply) => {
        if (seen.role === 'device')
          for (const t of (reply as { terminals: { storeId: string | null }[] }).terminals)
            assert.equal(t.storeId, deviceStore, "a device saw another store's terminal");
      },
    },
  };
}

/**
 * The back-office CRUD (`/api/products`, `/api/orders`, `/api/supplies`) and the pedidos
 * screens' `/api/v1/pedidos`: writes through the push path, so every refusal of a push may
 * come back, plus 404 for a row out of reach. The oracle checks the codes stay in that set.
 */
function resourceModels(
  base: string,
  tableName: string,
  reply: { one: z.ZodType; list?: z.ZodType; deleted: z.ZodType },
  withCreatePut: { put: boolean },
): Record<string, Model> {
  const writeOutcomes = [
    ...ok(),
    ...ok(201),
    E('VALIDATION_FAILED'),
    E('RECORD_INVALID'),
    E('NOT_FOUND'),
    E('CONFLICT'),
    ...rejectionCodes.map(E),
  ];
  const body = (p: Record<string, string>) =>
    writeBodyFor(JSON.stringify([tableName, p['id'] ?? 'r1']));
  const writes = (s: { role: string }) => [...writeOutcomes, ...storeRequired(s.role, tableName)];
  const out: Record<string, Model> = {
    [`POST ${base}`]: { body, outcomes: writes, reply: reply.one },
    [`PATCH ${base}/:id`]: { body, outcomes: writes, reply: reply.one },
    [`DELETE ${base}/:id`]: {
      outcomes: (s) => [
        ...ok(),
        E('VALIDATION_FAILED'),
        E('NOT_FOUND'),
        E('CONFLICT'),
        ...rejectionCodes.map(E),
        ...storeRequired(s.role, tableName),
      ],
      reply: reply.deleted,
    },
  };
  if (withCreatePut.put) out[`PUT ${base}/:id`] = { body, outcomes: writes, reply: reply.one };
  if (reply.list) {
    out[`GET ${base}/:id`] = {
      outcomes: (s) => [
        ...ok(),
        E('VALIDATION_FAILED'),
        E('NOT_FOUND'),
        ...storeRequired(s.role, tableName),
      ],
      reply: reply.one,
      check: (seen, r) => {
        if (seen.role === 'device')
          assert.equal(
            (r as Record<string, unknown>)['store_id'],
            deviceStore,
            'a device read another store',
          );
      },
    };
    out[`GET ${base}`] = {
      query: listQuery,
      outcomes: (s) => (valid(listQuery, s.query) ? ok() : [E('VALIDATION_FAILED')]),
      reply: reply.list,
      check: (seen, r) =>
        storeRowsOnly(seen, names.resolve(tableName), r as Record<string, Json>[]),
    };
  }
  return out;
}
const crudReply = (key: string) =>
  z.object({ success: z.literal(true), [key]: z.record(z.string(), z.unknown()).nullable() });
const crudDeleted = z.object({ success: z.literal(true), id: z.string(), status: z.string() });

const models: Record<string, Model> = {
  ...resourceModels(
    '/api/products',
    'produtos',
    { one: crudReply('product'), deleted: crudDeleted },
    { put: true },
  ),
  ...resourceModels(
    '/api/orders',
    'pedidos',
    { one: crudReply('order'), deleted: crudDeleted },
    { put: true },
  ),
  ...resourceModels(
    '/api/supplies',
    'estoque',
    { one: crudReply('supply'), deleted: crudDeleted },
    { put: true },
  ),
  ...resourceModels(
    '/api/v1/pedidos',
    'pedidos',
    {
      one: z.record(z.string(), z.unknown()),
      list: z.array(z.record(z.string(), z.unknown())),
      deleted: z.object({ success: z.literal(true), id: z.union([z.string(), z.number()]) }),
    },
    { put: false },
  ),
  'POST /api/sync/push': {
    body: () => gen(pushRequestSchema),
    outcomes: ({ role, body }) => {
      if (batchTooLarge(body, 'mutations')) return [E('BATCH_TOO_LARGE')];
      // Only the envelope fails the request; a malformed mutation is rejected at its position.
      const p = pushEnvelopeSchema.safeParse(body);
      if (!p.success) return [E('VALIDATION_FAILED')];
      if (role === 'device' && p.data.machineId !== deviceMachine) return [E('MACHINE_MISMATCH')];
      return ok();
    },
    reply: pushResponseSchema,
    check: (seen, reply) => {
      const r = reply as z.infer<typeof pushResponseSchema>;
      assert.equal(r.results.length, (seen.body as { mutations: unknown[] }).mutations.length);
      for (const x of r.results)
        if (x.status === 'rejected')
          assert.ok(x.reason && x.reason.code in errorCatalogue, JSON.stringify(x));
      const counted = { applied: 0, duplicate: 0, conflict: 0, rejected: 0 };
      for (const x of r.results) counted[x.status]++;
      assert.deepEqual(r.summary, counted);
    },
  },
  'GET /api/sync/changes': {
    query: changesQuerySchema,
    outcomes: ({ query }) => {
      const q = changesQuerySchema.safeParse(query);
      if (!q.success) return [E('VALIDATION_FAILED')];
      const list = (q.data.tables ?? '')
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean);
      if (list.some((n) => !names.resolve(n))) return [E('UNKNOWN_TABLE')];
      return cursorOutcomes(q.data.since, ok());
    },
    reply: changesResponseSchema,
    check: (seen, reply) => {
      for (const c of (reply as z.infer<typeof changesResponseSchema>).changes) {
        const table = names.resolve(c.table);
        assert.ok(table, c.table);
        if (seen.role === 'device')
          assert.notEqual(table.direction, 'up', 'a device pulled an upload-only table');
        if (c.op === 'upsert') storeRowsOnly(seen, table, [c.record]);
      }
    },
  },
  'POST /api/sync': {
    body: () => gen(syncEventSchema),
    outcomes: ({ role, body }) => {
      const p = syncEventSchema.safeParse(body);
      if (!p.success) return [E('VALIDATION_FAILED')];
      const machineId = p.data.machineId ?? (role === 'admin' ? 'admin' : deviceMachine);
      if (role === 'device' && machineId !== deviceMachine) return [E('MACHINE_MISMATCH')];
      const m = /^(.+)_(created|updated|deleted)$/.exec(p.data.type);
      const table = m?.[1] ? names.entityNames().get(m[1]) : undefined;
      if (!m || !table) return [E('UNKNOWN_EVENT_TYPE')];
      // data: one row or a list; the id from data.id or <entity>Id beside it.
      const rows = Array.isArray(p.data.data) ? p.data.data : [p.data.data];
      if (rows.length > maxBatch) return [E('BATCH_TOO_LARGE')];
      const side = (['id', `${m[1]}_id`] as const)
        .map((k) => (p.data as Record<string, unknown>)[k])
        .find((v) => v !== undefined && v !== null);
      const bad = rows.some((r) => {
        const id =
          r['id'] ??
          (rows.length === 1 ? side : undefined) ??
          (m[2] === 'created' ? 'generated' : undefined);
        return !valid(rowIdSchema, id);
      });
      // A camelCase <entity>Id the oracle does not derive may also name the row.
      // The admin's row of a store-scoped table without its store.
      const noStore = storeRequired(role, table.name);
      if (bad) return [E('VALIDATION_FAILED'), ...ok(), ...rejectionCodes.map(E), ...noStore];
      if (role === 'device' && table.direction === 'down') return [E('DIRECTION_FORBIDDEN')];
      if (table.kind === 'event' && m[2] === 'deleted') return [E('EVENT_IMMUTABLE')];
      return [...ok(), ...rejectionCodes.map(E), ...noStore];
    },
    reply: syncEventResponseSchema,
    check: (_seen, reply) => assert.equal((reply as { success: boolean }).success, true),
  },
  'POST /api/sync/:table': {
    body: (p) => tableSyncBodyFor(p['table']),
    outcomes: ({ role, params, body }) => {
      if (!names.resolve(params['table'])) return [E('UNKNOWN_TABLE')];
      if (batchTooLarge(body, 'localUpdates')) return [E('BATCH_TOO_LARGE')];
      const p = tableSyncEnvelopeSchema.safeParse(body);
      if (!p.success) return [E('VALIDATION_FAILED')];
      if (role === 'device' && p.data.machineId !== deviceMachine) return [E('MACHINE_MISMATCH')];
      return cursorOutcomes(p.data.since, ok());
    },
    reply: tableSyncResponseSchema,
    check: (seen, reply) => {
      const r = reply as z.infer<typeof tableSyncResponseSchema>;
      assert.equal(
        r.results.length,
        (seen.body as { localUpdates: unknown[] }).localUpdates.length,
      );
      assert.equal(
        r.success,
        r.results.every((x) => x.status !== 'rejected'),
      );
      // Tombstones ({id, _deleted, updatedAt}) carry no store column.
      storeRowsOnly(
        seen,
        names.resolve(seen.params['table']),
        r.synced.filter((x) => x['_deleted'] !== true),
      );
    },
  },
  'GET /api/sync/conflicts': {
    query: conflictsQuery,
    outcomes: ({ query }) => (valid(conflictsQuery, query) ? ok() : [E('VALIDATION_FAILED')]),
    reply: z.object({
      conflicts: z.array(
        z
          .object({ storeId: z.string().nullable(), machineId: z.string(), table: z.string() })
          .loose(),
      ),
      count: z.number().int(),
    }),
    check: (seen, reply) => {
      const r = reply as {
        conflicts: { storeId: string | null; machineId: string }[];
        count: number;
      };
      assert.equal(r.count, r.conflicts.length);
      // A device sees its store's conflicts, and its own machine's on global tables (no store).
      if (seen.role === 'device')
        for (const c of r.conflicts)
          assert.ok(
            c.storeId === deviceStore || (c.storeId === null && c.machineId === deviceMachine),
            `a device saw another store's conflict: ${JSON.stringify(c)}`,
          );
    },
  },
  'GET /api/sync/reconcile': {
    outcomes: () => ok(),
    reply: z.object({
      success: z.literal(true),
      serverSummary: z.array(
        z.object({ table: z.string(), count: z.number().int().min(0) }).loose(),
      ),
    }),
    check: (seen, reply) => {
      const tablesSeen = (reply as { serverSummary: { table: string }[] }).serverSummary;
      if (seen.role === 'device')
        for (const t of tablesSeen) assert.notEqual(names.resolve(t.table)?.direction, 'up');
    },
  },
  'POST /api/sync/reconcile': {
    body: () => gen(reconcileRequestSchema),
    outcomes: ({ role, body }) => {
      const p = reconcileRequestSchema.safeParse(body);
      if (!p.success) return [E('VALIDATION_FAILED')];
      if (role === 'device' && p.data.machineId !== deviceMachine) return [E('MACHINE_MISMATCH')];
      return ok();
    },
    reply: reconcileResponseSchema,
    check: (_seen, reply) => {
      const r = reply as z.infer<typeof reconcileResponseSchema>;
      assert.equal(r.isConsistent, r.mismatches.length === 0);
    },
  },
  'POST /api/sync/reconcile/ranges': {
    body: () => gen(protocol.rangesRequestSchema),
    outcomes: ({ role, body }) => {
      const p = protocol.rangesRequestSchema.safeParse(body);
      if (!p.success) return [E('VALIDATION_FAILED')];
      if (role === 'device' && p.data.machineId !== deviceMachine) return [E('MACHINE_MISMATCH')];
      return [...ok(), E('UNKNOWN_TABLE'), E('BATCH_TOO_LARGE')];
    },
    reply: protocol.rangesResponseSchema,
  },
  'POST /api/sync/reconcile/rows': {
    body: () => gen(protocol.rowsFetchRequestSchema),
    outcomes: ({ role, body }) => {
      const p = protocol.rowsFetchRequestSchema.safeParse(body);
      if (!p.success) return [E('VALIDATION_FAILED')];
      if (role === 'device' && p.data.machineId !== deviceMachine) return [E('MACHINE_MISMATCH')];
      return [...ok(), E('UNKNOWN_TABLE'), E('BATCH_TOO_LARGE')];
    },
    reply: protocol.rowsFetchResponseSchema,
    check: (seen, reply) => {
      if (seen.role !== 'device') return;
      for (const r of (reply as z.infer<typeof protocol.rowsFetchResponseSchema>).rows) {
        const def = names.resolve(r.table);
        if (r.record && def?.storeColumn)
          assert.equal(r.record[def.storeColumn], deviceStore, 'a device read another store');
      }
    },
  },
  'POST /api/sync/reconcile/divergent': {
    body: () => gen(protocol.divergentReportSchema),
    outcomes: ({ role, body }) => {
      const p = protocol.divergentReportSchema.safeParse(body);
      if (!p.success) return [E('VALIDATION_FAILED')];
      if (role === 'device' && p.data.machineId !== deviceMachine) return [E('MACHINE_MISMATCH')];
      return [...ok(), E('UNKNOWN_TABLE'), E('BATCH_TOO_LARGE')];
    },
    reply: protocol.divergentReportResponseSchema,
  },
  'GET /api/sync/reconcile/history': {
    query: reconcileHistoryQuerySchema,
    outcomes: ({ query }) =>
      valid(reconcileHistoryQuerySchema, query) ? ok() : [E('VALIDATION_FAILED')],
    reply: z.object({
      success: z.literal(true),
      count: z.number().int(),
      data: z.array(z.unknown()),
    }),
    check: (_seen, reply) => {
      const r = reply as { count: number; data: unknown[] };
      assert.equal(r.count, r.data.length);
    },
  },
  'POST /api/ingest/v4': {
    body: () => mostly(signedPayload, gen(agentPayloadSchema)),
    query: ingestQuerySchema,
    outcomes: ({ role, query, body }) => {
      const q = ingestQuerySchema.safeParse(query);
      if (!q.success) return [E('VALIDATION_FAILED')];
      // Any v4 agent: the lenient schema; text no database stores is a 400 naming its field.
      const p = agentPayloadIngestSchema.safeParse(body);
      if (!p.success || findBadText(body)) return [E('VALIDATION_FAILED')];
      if (role === 'admin' && q.data.store === undefined) return [E('STORE_REQUIRED')];
      if (role === 'device' && q.data.store !== undefined && q.data.store !== deviceStore)
        return [E('SCOPE_VIOLATION')];
      // The store's source ids are bound by its first payload: others are refused (403).
      // Rows the tables cannot hold (a date outside years 1–9999 in UTC) refuse the payload.
      // A sync_id that is not the content hash is a warning, not a refusal.
      return [...ok(), E('VALIDATION_FAILED'), E('AGENT_STORE_MISMATCH')];
    },
    reply: ingestResponseSchema,
    check: (seen, reply) => {
      const r = reply as z.infer<typeof ingestResponseSchema>;
      const body = agentPayloadIngestSchema.parse(seen.body);
      assert.equal(r.syncId, body.integrity.sync_id);
      assert.ok(r.vendas <= body.vendas.length);
      assert.ok(r.turnos <= body.turnos.length);
      assert.ok(r.quebras.length <= body.turnos.filter((t) => t.fechado).length);
    },
  },
  'GET /api/ingest/v4/:syncId': {
    query: ingestQuerySchema,
    outcomes: ({ role, query, params }) => {
      const q = ingestQuerySchema.safeParse(query);
      if (!q.success || (params['syncId'] ?? '').length > 128) return [E('VALIDATION_FAILED')];
      if (role === 'admin' && q.data.store === undefined) return [E('STORE_REQUIRED')];
      if (role === 'device' && q.data.store !== undefined && q.data.store !== deviceStore)
        return [E('SCOPE_VIOLATION')];
      return [...ok(), E('NOT_FOUND')];
    },
    reply: z.record(z.string(), z.unknown()),
  },
  'GET /api/ingest/v4': {
    query: ingestListQuerySchema,
    outcomes: ({ query }) =>
      valid(ingestListQuerySchema, query) ? ok() : [E('VALIDATION_FAILED')],
    reply: ingestListResponseSchema,
    check: (seen, reply) => {
      const r = reply as z.infer<typeof ingestListResponseSchema>;
      assert.equal(r.count, r.ingests.length);
      if (seen.role === 'device') {
        for (const i of r.ingests)
          assert.equal(i.storeId, deviceStore, 'a device saw another store');
        for (const x of r.stores)
          assert.equal(x.storeId, deviceStore, 'a device saw another store');
      }
    },
  },
  'GET /api/products': listModel('produtos', 'products', listQuery),
  'GET /api/supplies': listModel('estoque', 'supplies', listQuery),
  'GET /api/orders': listModel('pedidos', 'orders', dateQuery),
  'GET /api/tables/:table': {
    query: listQuery,
    outcomes: ({ role, query, params }) => {
      if (!valid(listQuery, query)) return [E('VALIDATION_FAILED')];
      const table = names.resolve(params['table']);
      if (!table) return [E('UNKNOWN_TABLE')];
      // Terminals do not read upload-only tables (other tills' sales) back: refused (the
      // change being made now) or, as before it, answered with their own store's rows only.
      return role === 'device' && table.direction === 'up' ? [...ok(), E('FORBIDDEN')] : ok();
    },
    reply: listReply('rows').extend({ table: z.string() }),
    check: (seen, reply) => {
      const r = reply as { table: string; rows: Record<string, Json>[] };
      const table = names.resolve(seen.params['table']);
      assert.equal(r.table, table?.name);
      storeRowsOnly(seen, table, r.rows);
    },
  },
  'GET /api/tables/:table/:id': {
    outcomes: ({ role, params }) => {
      if (!valid(tableWriteParamsSchema, params)) return [E('VALIDATION_FAILED')];
      const table = names.resolve(params['table']);
      if (!table) return [E('UNKNOWN_TABLE')];
      if (role === 'device' && table.direction === 'up') return [E('FORBIDDEN')];
      return [...ok(), E('NOT_FOUND'), ...storeRequired(role, table.name)];
    },
    reply: z.object({ table: z.string(), row: z.record(z.string(), z.unknown()) }),
  },
  'PUT /api/tables/:table/:id': writeModel('put'),
  'PATCH /api/tables/:table/:id': writeModel('patch'),
  'DELETE /api/tables/:table/:id': writeModel('delete'),
  'POST /api/admin/devices': {
    body: () => gen(addDeviceRequestSchema),
    outcomes: ({ body }) =>
      valid(addDeviceRequestSchema, body)
        ? [...ok(201), E('DEVICE_EXISTS')]
        : [E('VALIDATION_FAILED')],
    reply: addDeviceResponseSchema,
  },
  'DELETE /api/admin/devices/:machineId': {
    outcomes: ({ params }) =>
      valid(revokeParams, params) ? [...ok(), E('NOT_FOUND')] : [E('VALIDATION_FAILED')],
    reply: z.object({ revoked: z.literal(true), machineId: z.string() }),
  },
  'GET /api/admin/devices': {
    outcomes: () => ok(),
    reply: z.object({ devices: z.array(z.object({ machine_id: z.string() }).loose()) }),
  },
  'GET /api/stats': {
    outcomes: () => ok(),
    reply: z.object({ dialect: z.literal('sqlite'), tables: z.array(z.unknown()) }).loose(),
  },
  'GET /api/schema': { outcomes: () => ok(), reply: schemaResponseSchema },
  'GET /api/sync/epoch': { outcomes: () => ok(), reply: epochResponseSchema },
  'GET /ws/stats': { outcomes: () => ok(), reply: wsStatsSchema },
  'GET /health': { outcomes: () => ok(), reply: z.object({ status: z.literal('ok') }).loose() },
  // Console, metrics and probes.
  'GET /health/live': { outcomes: () => ok(), reply: z.object({ status: z.literal('ok') }) },
  'GET /health/ready': {
    outcomes: () => ok(),
    reply: z.object({ status: z.literal('ready'), migrations: z.literal('done') }).loose(),
  },
  'GET /metrics': {
    outcomes: () => ok(),
    reply: z.string().regex(/^# HELP pdvsync_/m),
  },
  'GET /': { outcomes: () => ok(302), reply: z.unknown() },
  'GET /dashboard': { outcomes: () => ok(302), reply: z.unknown() },
  'GET /admin': { outcomes: () => ok(302), reply: z.unknown() },
  'GET /admin/*': { outcomes: () => ok(), reply: z.string() },
  'POST /api/console/ticket': {
    outcomes: () => ok(),
    reply: z.object({ ticket: z.string().min(20), expiresInSeconds: z.number() }),
  },
  'GET /api/console/overview': {
    outcomes: () => ok(),
    reply: z.object({
      offlineAfterSeconds: z.number(),
      terminals: z.array(z.object({ machineId: z.string(), badge: z.string() }).loose()),
    }),
  },
  'GET /api/console/terminals/:machineId': {
    outcomes: () => [...ok(), E('NOT_FOUND')],
    reply: z.object({ terminal: z.object({ machineId: z.string() }).loose() }).loose(),
  },
  'POST /api/console/terminals/:machineId/dead-letters/:deadLetterId': {
    body: () => gen(protocol.deadLetterActionSchema),
    outcomes: ({ params, body }) =>
      !valid(protocol.deadLetterParamsSchema, params) ||
      !valid(protocol.deadLetterActionSchema, body)
        ? [E('VALIDATION_FAILED')]
        : [...ok(), E('NOT_FOUND')],
    reply: z.object({ queued: z.literal(true), commandId: z.number() }),
  },
  'GET /api/console/terminals/:machineId/divergent-rows': {
    outcomes: () => [...ok(), E('NOT_FOUND')],
    reply: protocol.divergentRowsResponseSchema,
  },
  'POST /api/console/terminals/:machineId/divergent-rows/repair': {
    body: () => gen(protocol.repairRequestSchema),
    outcomes: ({ body }) =>
      valid(protocol.repairRequestSchema, body)
        ? [...ok(), E('NOT_FOUND'), E('UNKNOWN_TABLE')]
        : [E('VALIDATION_FAILED')],
    reply: protocol.repairResponseSchema,
  },
  'GET /api/console/conflicts': {
    query: protocol.consoleConflictsQuerySchema,
    outcomes: ({ query }) =>
      valid(protocol.consoleConflictsQuerySchema, query) ? ok() : [E('VALIDATION_FAILED')],
    reply: z.object({ conflicts: z.array(z.unknown()), count: z.number() }),
  },
  'GET /api/console/agents': {
    outcomes: () => ok(),
    reply: z.object({ stores: z.array(z.unknown()) }),
  },
  'GET /api/console/alerts': {
    query: protocol.consoleListQuerySchema,
    outcomes: ({ query }) =>
      valid(protocol.consoleListQuerySchema, query) ? ok() : [E('VALIDATION_FAILED')],
    reply: z.object({ alerts: z.array(z.unknown()) }),
  },
  'GET /api/console/audit': {
    query: protocol.consoleListQuerySchema,
    outcomes: ({ query }) =>
      valid(protocol.consoleListQuerySchema, query) ? ok() : [E('VALIDATION_FAILED')],
    reply: z.object({ entries: z.array(z.unknown()) }),
  },
  ...(terminalStatusSchema && sessionResponseSchema
    ? terminalModels(terminalStatusSchema, sessionResponseSchema)
    : {}),
  // The contract and its interactive page (public, no input).
  'GET /api/openapi.json': {
    outcomes: () => ok(),
    reply: z.object({ openapi: z.literal('3.1.0') }).loose(),
  },
  'GET /api/docs': { outcomes: () => ok(), reply: z.string().regex(/swagger-ui/) },
  'GET /api/docs/json': {
    outcomes: () => ok(),
    reply: z.object({ openapi: z.literal('3.1.0') }).loose(),
  },
  'GET /api/docs/yaml': { outcomes: () => ok(), reply: z.string().regex(/^openapi: 3\.1\.0/m) },
  'GET /api/docs/static/index.html': { outcomes: () => ok(302), reply: z.unknown() },
  'GET /api/docs/static/swagger-initializer.js': {
    outcomes: () => ok(),
    reply: z.string().regex(/SwaggerUIBundle/),
  },
  'GET /api/docs/static/*': { outcomes: () => ok(), reply: z.string() },
};

// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// The property.

type Request = {
  role: Role;
  params: Record<string, string>;
  query: string;
  body: BodySpec | null;
  headers: Record<string, string>;
};

function requestArb(route: RouteInfo, model: Model): fc.Arbitrary<Request> {
  const paramNames = [...route.url.matchAll(/:(\w+)/g)].map((m) => m[1]);
  const params: Record<string, fc.Arbitrary<string>> = {};
  for (const n of paramNames) {
    const arb = paramArbs[n];
    assert.ok(arb, `no arbitrary for path parameter :${n} of ${route.url}`);
    params[n] = arb.filter(paramOk).filter((v) => !(n === 'machineId' && v === deviceMachine));
  }
  const readsBody = ['POST', 'PUT', 'PATCH'].includes(route.method);
  const body = (p: Record<string, string>): fc.Arbitrary<BodySpec | null> =>
    readsBody
      ? bodyArb(model.body?.(p) ?? fc.jsonValue())
      : fc.oneof(
          { weight: 4, arbitrary: fc.constant(null) },
          { weight: 1, arbitrary: bodyArb(fc.jsonValue()) },
        );
  const role: fc.Arbitrary<Role> = route.admin
    ? fc.oneof(
        { weight: 6, arbitrary: fc.constant<Role>('admin') },
        { weight: 1, arbitrary: fc.constant<Role>('device') },
      )
    : fc.constantFrom<Role>('admin', 'device');
  const headers = fc.record(
    {
      'accept-encoding': fc.constantFrom('gzip', 'deflate', 'identity'),
      'idempotency-key': fc.oneof(
        fc.constantFrom('k1', 'k2', ''),
        fc.string({ minLength: 120, maxLength: 140 }),
      ),
    },
    { requiredKeys: [] },
  );
  return fc.record(params).chain((p) =>
    fc.record({
      role,
      params: fc.constant(p),
      query: model.query
        ? queryArb(model.query)
        : fc.oneof(fc.constant(''), randomQuery.map(buildQuery)),
      body: body(p),
      headers,
    }),
  );
}

function replyJson(res: LightMyRequestResponse): unknown {
  const encoding = res.headers['content-encoding'];
  const raw = res.rawPayload;
  const bytes =
    encoding === 'gzip' ? gunzipSync(raw) : encoding === 'deflate' ? inflateSync(raw) : raw;
  // GET /metrics answers Prometheus text; the console's files are HTML, JS and CSS; redirects are empty.
  const type = String(res.headers['content-type'] ?? '');
  if (!type.startsWith('application/json')) return bytes.toString('utf8');
  return JSON.parse(bytes.toString('utf8'));
}

// A trailing `*` gets a file both wildcard routes serve (the documentation page's stylesheet,
// a console screen).
const url = (route: RouteInfo, params: Record<string, string>, query: string) =>
  // The wildcard first: a generated id may itself end in `*` (encodeURIComponent keeps it).
  route.url
    .replace(/\*$/, 'index.css')
    .replace(/:(\w+)/g, (_m, n: string) => encodeURIComponent(params[n])) +
  (query ? `?${query}` : '');

/** Statuses seen per route, to show the generators reach both valid and invalid requests. */
const seenStatuses = new Map<string, Map<number, number>>();

async function exercise(route: RouteInfo, model: Model, req: Request): Promise<void> {
  const key = `${route.method} ${route.url}`;
  // GET bodies are never read; an unknown content-encoding is refused on every route.
  const seenBody: SeenBody =
    req.body === null
      ? { kind: 'none' }
      : route.method !== 'GET'
        ? req.body.seen
        : req.body.unknownEncoding
          ? { kind: 'error', codes: ['INVALID_JSON'] }
          : { kind: 'none' };
  const seen: Seen = {
    role: req.role,
    params: req.params,
    query: parseQuery(req.query),
    body: seenBody.kind === 'value' ? seenBody.value : undefined,
  };
  let outcomes: Outcome[];
  // The auth hook runs before the body is read.
  if (route.admin && req.role === 'device') outcomes = [E('FORBIDDEN')];
  else if (seenBody.kind === 'error') outcomes = seenBody.codes.map(E);
  // The generic text check (NUL, lone surrogates) answers before any handler.
  else if (
    findTextIssues(seen.params, 'params').length > 0 ||
    findTextIssues(seen.query, 'query').length > 0 ||
    (guardsBody(key) && findTextIssues(seen.body, 'body').length > 0)
  )
    outcomes = [E('VALIDATION_FAILED')];
  else outcomes = model.outcomes(seen);

  const res = await ts.request(req.role === 'admin' ? adminToken : deviceToken, {
    method: route.method,
    url: url(route, req.params, req.query),
    headers: { ...req.headers, ...(req.body?.headers ?? {}) },
    ...(req.body ? { payload: req.body.payload } : {}),
  });
  const counts = seenStatuses.get(key) ?? new Map<number, number>();
  counts.set(res.statusCode, (counts.get(res.statusCode) ?? 0) + 1);
  seenStatuses.set(key, counts);

  const context = () =>
    `${key} as ${req.role} -> ${res.statusCode} ${res.body.slice(0, 300)}\n  expected ${JSON.stringify(outcomes)}`;
  assert.ok(res.statusCode < 500, context());
  assert.equal(res.headers['x-pdv-sync-protocol'], String(protocol.protocolVersion), context());
  const reply = replyJson(res);
  // Admin writes answer a conflict with 409 CONFLICT, the mutation result in details.
  const conflictResult = res.statusCode === 409 && route.url === '/api/tables/:table/:id';
  let code: string | undefined;
  if (res.statusCode >= 400) {
    const error = errorBodySchema.safeParse(reply);
    assert.ok(error.success, `not a catalogue error body: ${context()}`);
    code = error.data.code;
    assert.equal(errorCatalogue[error.data.code].status, res.statusCode, context());
    if (code === 'PAYLOAD_TOO_LARGE') assert.equal(error.data.details?.['limitBytes'], bodyLimit);
    if (code === 'BATCH_TOO_LARGE') assert.equal(error.data.details?.['limit'], maxBatch);
  }
  assert.ok(
    outcomes.some((o) => o.status === res.statusCode && (o.code === undefined || o.code === code)),
    `unexpected answer: ${context()}`,
  );
  if (conflictResult) {
    assert.equal(code, 'CONFLICT', context());
    const details = errorBodySchema.parse(reply).details;
    assert.equal(mutationResultSchema.parse(details?.['result']).status, 'conflict', context());
  }
  if (res.statusCode < 300) {
    const parsed = model.reply.safeParse(reply);
    assert.ok(parsed.success, `2xx body does not match its schema: ${context()}`);
    model.check?.(seen, reply);
  }
}

const routes = ts.server.routes;

void test('every registered route has a fuzz model, and every model a route', () => {
  const keys = routes.map((r) => `${r.method} ${r.url}`);
  assert.ok(keys.includes('POST /api/sync/push') && keys.length >= 10, keys.join(', '));
  const missing = keys.filter((k) => !(k in models));
  assert.deepEqual(
    missing,
    [],
    `routes without a fuzz model (add one to models): ${missing.join(', ')}`,
  );
  const stale = Object.keys(models).filter((k) => !keys.includes(k));
  assert.deepEqual(
    stale,
    [],
    `fuzz models of routes the server no longer has: ${stale.join(', ')}`,
  );
});

for (const route of routes) {
  const key = `${route.method} ${route.url}`;
  const model = models[key];
  if (!model) continue;
  void test(`fuzz ${key} (${runs} runs)`, async () => {
    // Reads of one row need a row: earlier routes may have deleted the seeded ones.
    if (key === 'GET /api/v1/pedidos/:id') {
      await ts.request(deviceToken, {
        method: 'POST',
        url: '/api/v1/pedidos',
        payload: { id: 'pv1-fuzz', status: 'aberto' },
      });
      await ts.request(deviceToken, {
        method: 'POST',
        url: '/api/v1/pedidos',
        payload: { id: 'r1', status: 'aberto' },
      });
    }
    await fc.assert(
      fc.asyncProperty(requestArb(route, model), (req) => exercise(route, model, req)),
      {
        numRuns: runs,
        includeErrorInReport: true,
        // Replays a failure: PDV_SYNC_FUZZ_SEED=<seed from the report>.
        ...(process.env.PDV_SYNC_FUZZ_SEED ? { seed: Number(process.env.PDV_SYNC_FUZZ_SEED) } : {}),
      },
    );
    const counts = seenStatuses.get(key);
    assert.ok(counts, `${key} was never requested`);
    if (runs >= 100) {
      const statuses = [...counts.keys()];
      // 3xx counts as success for the redirects to the console.
      assert.ok(
        statuses.some((s) => s < 400),
        `${key}: no 2xx in ${JSON.stringify([...counts])}`,
      );
      if (model.body || model.query)
        assert.ok(
          statuses.some((s) => s >= 400),
          `${key}: no 4xx in ${JSON.stringify([...counts])}`,
        );
    }
  });
}

void test('413: a batch over maxBatch and a body over bodyLimit name their limits', async () => {
  const mutation = { eventId: 'big-1', table: 'pedidos', op: 'upsert', record: { id: 'r1' } };
  for (const [path, field] of [
    ['/api/sync/push', 'mutations'],
    ['/api/sync/pedidos', 'localUpdates'],
  ] as const) {
    const batch = await ts.request(deviceToken, {
      method: 'POST',
      url: path,
      payload: {
        machineId: deviceMachine,
        [field]: Array.from({ length: maxBatch + 1 }, () => mutation),
      },
    });
    assert.equal(batch.statusCode, 413, batch.body);
    assert.deepEqual(batch.json(), {
      code: 'BATCH_TOO_LARGE',
      message: batch.json<{ message: string }>().message,
      details: { limit: maxBatch },
    });
    const exact = await ts.request(deviceToken, {
      method: 'POST',
      url: path,
      payload: {
        machineId: deviceMachine,
        [field]: Array.from({ length: maxBatch }, () => mutation),
      },
    });
    assert.equal(exact.statusCode, 200, exact.body);
    const huge = await ts.request(deviceToken, {
      method: 'POST',
      url: path,
      payload: { machineId: deviceMachine, [field]: [], pad: 'x'.repeat(bodyLimit) },
    });
    assert.equal(huge.statusCode, 413, huge.body);
    assert.equal(huge.json<{ code: string }>().code, 'PAYLOAD_TOO_LARGE');
    assert.equal(huge.json<{ details: { limitBytes: number } }>().details.limitBytes, bodyLimit);
  }
});

void test('the server survived the fuzzing', async () => {
  const res = await ts.request(null, { method: 'GET', url: '/health' });
  assert.equal(res.statusCode, 200, res.body);
  const dev = await ts.request(deviceToken, { method: 'GET', url: '/api/schema' });
  assert.equal(dev.statusCode, 200, 'the fuzzed revocations must not have hit the fuzzing device');
});

// ---------------------------------------------------------------------------
// Regression tests for server bugs the fuzzers found.

void test('POST /api/sync with a numeric timestamp past year 275760 is a 4xx, not a 500', async () => {
  const res = await ts.request(deviceToken, {
    method: 'POST',
    url: '/api/sync',
    payload: {
      type: 'pedido_created',
      timestamp: 9e15,
      event_id: 'todo-ts',
      data: { status: 'a' },
    },
  });
  assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${res.statusCode} ${res.body}`);
});

void test('a deeply nested value in a json column is refused or stored, never a 500', async () => {
  const depth = 10_000;
  const res = await ts.request(deviceToken, {
    method: 'POST',
    url: '/api/sync/push',
    headers: { 'content-type': 'application/json' },
    payload: `{"machineId":"${deviceMachine}","mutations":[{"eventId":"todo-deep","table":"clientes","op":"upsert","record":{"id":"deep","nome":"x","endereco":${'['.repeat(depth)}${']'.repeat(depth)}}}]}`,
  });
  assert.ok(res.statusCode < 500, `${res.statusCode} ${res.body}`);
});

void test('a device whose machineId has 101–128 characters can be revoked', async () => {
  const machineId = 'm'.repeat(120);
  await ts.device(deviceStore, machineId);
  const res = await ts.request(adminToken, {
    method: 'DELETE',
    url: `/api/admin/devices/${machineId}`,
  });
  assert.equal(res.statusCode, 200, res.body);
});

void test('PostgreSQL: NUL characters, year 0000 and year 10000 dates are refused or stored, never a 500', async () => {
  const pg = await startTestServer('postgres');
  try {
    const token = await pg.device('pg-store', 'pg-till');
    const push = (eventId: string, record: Record<string, unknown>) =>
      pg.request(token, {
        method: 'POST',
        url: '/api/sync/push',
        payload: {
          machineId: 'pg-till',
          mutations: [{ eventId, table: 'pedidos', op: 'upsert', record }],
        },
      });
    const answers = [
      await push('pg-nul', { id: 'pg-nul', status: 'a\u0000b' }),
      await push('pg-year0', { id: 'pg-year0', status: 'a', created_at: '0000-01-01' }),
      await pg.request(token, { method: 'GET', url: '/api/orders?end_date=9999-12-31' }),
    ];
    for (const res of answers) assert.ok(res.statusCode < 500, `${res.statusCode} ${res.body}`);
  } finally {
    await pg.close();
  }
});
