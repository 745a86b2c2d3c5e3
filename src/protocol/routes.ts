import { z } from 'zod';
import { agentPayloadIngestSchema, ingestResponseSchema } from './agent-payload.js';
import {
  crudDeleteResponseSchema,
  crudWriteResponseSchema,
  idempotencyHeadersSchema,
  listQuerySchema,
  ordersQuerySchema,
  pedidoDeleteResponseSchema,
  recordBodySchema,
  rowIdParamsSchema,
  rowStoreQuerySchema,
  rowListResponseSchema,
  rowSchema,
  tableParamsSchema,
  tableRowResponseSchema,
  tableRowsResponseSchema,
} from './back-office.js';
import { changesQuerySchema, changesResponseSchema } from './changes.js';
import { conflictsQuerySchema, conflictsResponseSchema } from './conflicts.js';
import {
  consoleAgentsResponseSchema,
  consoleAlertsResponseSchema,
  consoleAuditResponseSchema,
  consoleConflictsQuerySchema,
  consoleListQuerySchema,
  consoleMessageSchema,
  consoleOverviewResponseSchema,
  consoleSocketPath,
  consoleTerminalResponseSchema,
  consoleTicketResponseSchema,
  deadLetterActionResponseSchema,
  deadLetterActionSchema,
  deadLetterParamsSchema,
} from './console.js';
import {
  addDeviceRequestSchema,
  addDeviceResponseSchema,
  devicesResponseSchema,
  machineParamsSchema,
  revokeDeviceResponseSchema,
  tableWriteParamsSchema,
} from './devices.js';
import { epochResponseSchema } from './epoch.js';
import {
  healthResponseSchema,
  healthUnavailableResponseSchema,
  livenessResponseSchema,
  readinessResponseSchema,
  readinessUnavailableResponseSchema,
} from './health.js';
import {
  ingestListQuerySchema,
  ingestListResponseSchema,
  ingestParamsSchema,
  ingestQuerySchema,
  storedPayloadSchema,
} from './ingest.js';
import { clientMessageSchema, serverMessageSchema, wsStatsSchema } from './live.js';
import { mutationResultSchema, pushRequestSchema, pushResponseSchema } from './push.js';
import {
  reconcileHistoryQuerySchema,
  reconcileHistoryResponseSchema,
  reconcileRequestSchema,
  reconcileResponseSchema,
  serverSummaryResponseSchema,
} from './reconcile.js';
import {
  divergentReportResponseSchema,
  divergentReportSchema,
  divergentRowsResponseSchema,
  rangesRequestSchema,
  rangesResponseSchema,
  repairRequestSchema,
  repairResponseSchema,
  rowsFetchRequestSchema,
  rowsFetchResponseSchema,
} from './row-reconcile.js';
import { statsResponseSchema } from './stats.js';
import { syncEventResponseSchema, syncEventSchema } from './sync-event.js';
import { errorBodySchema } from './sync-error.js';
import { schemaResponseSchema } from './sync-schema.js';
import { tableSyncRequestSchema, tableSyncResponseSchema } from './table-sync.js';
import {
  sessionResponseSchema,
  terminalStatusResponseSchema,
  terminalStatusSchema,
  terminalsResponseSchema,
} from './terminal-status.js';

/**
 * The HTTP contract: every route the server answers, keyed `METHOD /path` as the server
 * registers it, with the schemas of what it takes and what it answers. The server attaches
 * each entry to its route (a route without one does not start) and publishes them as an
 * OpenAPI document at `GET /api/openapi.json`; the routes still check their input with the
 * same schemas themselves. Requests are described as clients send them (`io: input`: a
 * defaulted field is optional), answers as the server sends them. Errors are not listed per
 * route: every route may answer `{code, message, details?}` (`errorBodySchema`) with the
 * status of its code in the catalogue.
 */

/** The groups of the document, in the order it lists them. */
export const apiTags = {
  sync: 'Terminals: push, pull, the per-table form, single events, conflicts and reconciliation.',
  'back office': 'Reads and writes of the sync tables as back-office front ends call them.',
  pedidos: "The pedidos screens' REST routes.",
  ingest: "The sync agent's payloads (v4).",
  admin: 'Tokens, statistics and the sync schema.',
  console: "The admin console's API and its pages.",
  live: 'Real-time WebSocket channels (documented as their upgrade requests).',
  operations: 'Probes, metrics, the restore epoch and this document.',
} as const;
export type ApiTag = keyof typeof apiTags;

/** An answer that is not JSON: its media type. */
export type RawAnswer = { mediaType: string; description: string };
/** A redirect, without a body. */
export type RedirectAnswer = { redirectTo: string };

export type RouteContract = {
  summary: string;
  description?: string;
  tags: readonly ApiTag[];
  params?: z.ZodType;
  querystring?: z.ZodType;
  headers?: z.ZodType;
  body?: z.ZodType;
  /** Answers by HTTP status (success and the statuses with a body of their own). */
  response: Readonly<Record<number, z.ZodType | RawAnswer | RedirectAnswer>>;
};

const sync = ['sync'] as const;
const backOffice = ['back office'] as const;
const pedidos = ['pedidos'] as const;
const ingest = ['ingest'] as const;
const admin = ['admin'] as const;
const consoleTag = ['console'] as const;
const operations = ['operations'] as const;

/** `POST /api/orders` and its `PUT`/`PATCH`: the order's columns and its lines (`items` or `itens`). */
const orderBodySchema = z.looseObject({
  items: z.array(rowSchema).max(1000).optional(),
  itens: z.array(rowSchema).max(1000).optional(),
});

/** The back-office CRUD of one resource (`/api/products`…): its writes, with the row under `key`. */
function crudRoutes(path: string, key: string, body: z.ZodType): Record<string, RouteContract> {
  const headers = idempotencyHeadersSchema(100);
  const written = crudWriteResponseSchema(key);
  return {
    [`POST ${path}`]: {
      summary: `Create a ${key}`,
      description:
        'Written through the push path (store scope, table direction, conflict policy, live broadcast). 201 when created, 200 when the idempotency key was seen before.',
      tags: backOffice,
      headers,
      body,
      response: { 201: written, 200: written },
    },
    [`PUT ${path}/:id`]: {
      summary: `Replace a ${key} (every required column)`,
      tags: backOffice,
      params: rowIdParamsSchema,
      querystring: rowStoreQuerySchema,
      headers,
      body,
      response: { 200: written },
    },
    [`PATCH ${path}/:id`]: {
      summary: `Change some columns of a ${key}`,
      tags: backOffice,
      params: rowIdParamsSchema,
      querystring: rowStoreQuerySchema,
      headers,
      body,
      response: { 200: written },
    },
    [`DELETE ${path}/:id`]: {
      summary: `Delete a ${key}`,
      tags: backOffice,
      params: rowIdParamsSchema,
      querystring: rowStoreQuerySchema,
      headers,
      response: { 200: crudDeleteResponseSchema },
    },
  };
}

/** Admin writes of any table (`PUT`/`PATCH`/`DELETE /api/tables/:table/:id`). */
function tableWrite(summary: string, body?: z.ZodType): RouteContract {
  return {
    summary,
    tags: backOffice,
    params: tableWriteParamsSchema,
    querystring: rowStoreQuerySchema,
    headers: idempotencyHeadersSchema(128),
    ...(body ? { body } : {}),
    response: { 200: mutationResultSchema },
  };
}

const consolePage: RawAnswer = {
  mediaType: 'text/html',
  description: 'The console (a single-page app) or one of its assets',
};

export const httpRoutes: Readonly<Record<string, RouteContract>> = {
  // Terminals.
  'POST /api/sync/push': {
    summary: 'Push a batch of mutations',
    description:
      'Each mutation is checked and answered alone (applied, duplicate, conflict, rejected); only the envelope can fail the request. See docs/protocol.md.',
    tags: sync,
    body: pushRequestSchema,
    response: { 200: pushResponseSchema },
  },
  'GET /api/sync/changes': {
    summary: 'Pull the changes after a cursor',
    tags: sync,
    querystring: changesQuerySchema,
    response: { 200: changesResponseSchema },
  },
  'POST /api/sync': {
    summary: 'A single event (`<entity>_created|_updated|_deleted`)',
    description: 'A rejected event is answered 422 with the event form (`success: false`, `code`).',
    tags: sync,
    body: syncEventSchema,
    response: {
      200: syncEventResponseSchema,
      422: z.union([syncEventResponseSchema, errorBodySchema]),
    },
  },
  'POST /api/sync/:table': {
    summary: "Per-table form: push one table's updates and pull its changes",
    tags: sync,
    params: tableParamsSchema,
    body: tableSyncRequestSchema,
    response: { 200: tableSyncResponseSchema },
  },
  'GET /api/sync/conflicts': {
    summary: 'The conflict log, newest first',
    tags: sync,
    querystring: conflictsQuerySchema,
    response: { 200: conflictsResponseSchema },
  },
  'GET /api/sync/reconcile': {
    summary: "Reconcile: the server's summary per table",
    tags: sync,
    response: { 200: serverSummaryResponseSchema },
  },
  'POST /api/sync/reconcile': {
    summary: "Reconcile: compare the terminal's summary with the server's",
    tags: sync,
    body: reconcileRequestSchema,
    response: { 200: reconcileResponseSchema },
  },
  'POST /api/sync/reconcile/ranges': {
    summary: 'Row-level reconcile: compare digests over ranges of ids, narrowing where they differ',
    tags: sync,
    body: rangesRequestSchema,
    response: { 200: rangesResponseSchema },
  },
  'POST /api/sync/reconcile/rows': {
    summary: "Row-level reconcile: the server's rows by id, in the terminal's scope",
    tags: sync,
    body: rowsFetchRequestSchema,
    response: { 200: rowsFetchResponseSchema },
  },
  'POST /api/sync/reconcile/divergent': {
    summary:
      "Row-level reconcile: the terminal's divergent rows, for the console; answers repairs asked",
    tags: sync,
    body: divergentReportSchema,
    response: { 200: divergentReportResponseSchema },
  },
  'GET /api/sync/reconcile/history': {
    summary: 'Reconcile: past comparisons',
    tags: sync,
    querystring: reconcileHistoryQuerySchema,
    response: { 200: reconcileHistoryResponseSchema },
  },
  'GET /api/session': {
    summary: 'Who the token belongs to',
    tags: sync,
    response: { 200: sessionResponseSchema },
  },
  'POST /api/sync/status': {
    summary: "A terminal's health report",
    tags: sync,
    body: terminalStatusSchema,
    response: { 200: terminalStatusResponseSchema },
  },
  'GET /api/sync/terminals': {
    summary: "Every terminal's last report",
    tags: sync,
    response: { 200: terminalsResponseSchema },
  },

  // Back office.
  'GET /api/products': {
    summary: 'Read `produtos`',
    tags: backOffice,
    querystring: listQuerySchema,
    response: { 200: rowListResponseSchema('products') },
  },
  'GET /api/supplies': {
    summary: 'Read `estoque`',
    tags: backOffice,
    querystring: listQuerySchema,
    response: { 200: rowListResponseSchema('supplies') },
  },
  'GET /api/orders': {
    summary: 'Read `pedidos`, filtered by creation day',
    tags: backOffice,
    querystring: ordersQuerySchema,
    response: { 200: rowListResponseSchema('orders') },
  },
  'GET /api/tables/:table': {
    summary: 'Read any sync table',
    tags: backOffice,
    params: tableParamsSchema,
    querystring: listQuerySchema,
    response: { 200: tableRowsResponseSchema },
  },
  'GET /api/tables/:table/:id': {
    summary: 'Read one row',
    tags: backOffice,
    params: tableWriteParamsSchema,
    querystring: rowStoreQuerySchema,
    response: { 200: tableRowResponseSchema },
  },
  'PUT /api/tables/:table/:id': tableWrite(
    'Admin write: create a row or replace its columns',
    recordBodySchema,
  ),
  'PATCH /api/tables/:table/:id': tableWrite('Admin write: change some columns', recordBodySchema),
  'DELETE /api/tables/:table/:id': tableWrite('Admin write: delete a row'),
  ...crudRoutes('/api/products', 'product', recordBodySchema),
  ...crudRoutes('/api/orders', 'order', orderBodySchema),
  ...crudRoutes('/api/supplies', 'supply', recordBodySchema),

  // Pedidos screens.
  'GET /api/v1/pedidos': {
    summary: 'List pedidos',
    tags: pedidos,
    querystring: listQuerySchema,
    response: { 200: z.array(rowSchema) },
  },
  'GET /api/v1/pedidos/:id': {
    summary: 'Read one pedido',
    tags: pedidos,
    params: rowIdParamsSchema,
    querystring: rowStoreQuerySchema,
    response: { 200: rowSchema },
  },
  'POST /api/v1/pedidos': {
    summary: 'Create a pedido',
    tags: pedidos,
    headers: idempotencyHeadersSchema(100),
    body: recordBodySchema,
    response: { 201: rowSchema, 200: rowSchema },
  },
  'PATCH /api/v1/pedidos/:id': {
    summary: 'Change a pedido (every screen on /ws/pedidos hears of it before the answer)',
    tags: pedidos,
    params: rowIdParamsSchema,
    querystring: rowStoreQuerySchema,
    headers: idempotencyHeadersSchema(100),
    body: recordBodySchema,
    response: { 200: rowSchema },
  },
  'DELETE /api/v1/pedidos/:id': {
    summary: 'Delete a pedido',
    tags: pedidos,
    params: rowIdParamsSchema,
    querystring: rowStoreQuerySchema,
    headers: idempotencyHeadersSchema(100),
    response: { 200: pedidoDeleteResponseSchema },
  },

  // Sync agent.
  'POST /api/ingest/v4': {
    summary: "Store a sync agent's payload",
    tags: ingest,
    querystring: ingestQuerySchema,
    body: agentPayloadIngestSchema,
    response: { 200: ingestResponseSchema },
  },
  'GET /api/ingest/v4': {
    summary: 'Recent payloads and per-store agent health',
    tags: ingest,
    querystring: ingestListQuerySchema,
    response: { 200: ingestListResponseSchema },
  },
  'GET /api/ingest/v4/:syncId': {
    summary: 'One payload as its agent sent it',
    tags: ingest,
    params: ingestParamsSchema,
    querystring: ingestQuerySchema,
    response: { 200: storedPayloadSchema },
  },

  // Administration.
  'POST /api/admin/devices': {
    summary: 'Create a device or store manager token (shown once)',
    tags: admin,
    body: addDeviceRequestSchema,
    response: { 201: addDeviceResponseSchema },
  },
  'GET /api/admin/devices': {
    summary: 'List tokens and their activity',
    tags: admin,
    response: { 200: devicesResponseSchema },
  },
  'DELETE /api/admin/devices/:machineId': {
    summary: "Revoke a machine's token",
    tags: admin,
    params: machineParamsSchema,
    response: { 200: revokeDeviceResponseSchema },
  },
  'GET /api/stats': {
    summary: 'Server statistics',
    tags: admin,
    response: { 200: statsResponseSchema },
  },
  'GET /api/schema': {
    summary: 'The sync schema as loaded (defaults filled in)',
    tags: admin,
    response: { 200: schemaResponseSchema },
  },

  // Console.
  'POST /api/console/ticket': {
    summary: "A one-use ticket for the console's WebSocket",
    tags: consoleTag,
    response: { 200: consoleTicketResponseSchema },
  },
  'GET /api/console/overview': {
    summary: 'Every terminal, worst first',
    tags: consoleTag,
    response: { 200: consoleOverviewResponseSchema },
  },
  'GET /api/console/terminals/:machineId': {
    summary: "One terminal's detail",
    tags: consoleTag,
    params: machineParamsSchema,
    response: { 200: consoleTerminalResponseSchema },
  },
  'POST /api/console/terminals/:machineId/dead-letters/:deadLetterId': {
    summary: 'Queue a dead-letter action (resend or discard) for a terminal',
    tags: consoleTag,
    params: deadLetterParamsSchema,
    body: deadLetterActionSchema,
    response: { 200: deadLetterActionResponseSchema },
  },
  'GET /api/console/terminals/:machineId/divergent-rows': {
    summary: "A terminal's divergent rows: terminal value against server value",
    tags: consoleTag,
    params: machineParamsSchema,
    response: { 200: divergentRowsResponseSchema },
  },
  'POST /api/console/terminals/:machineId/divergent-rows/repair': {
    summary: 'Ask a terminal to repair one divergent row (or all of them)',
    tags: consoleTag,
    params: machineParamsSchema,
    body: repairRequestSchema,
    response: { 200: repairResponseSchema },
  },
  'GET /api/console/conflicts': {
    summary: 'Conflicts by store, table and period',
    tags: consoleTag,
    querystring: consoleConflictsQuerySchema,
    response: { 200: conflictsResponseSchema },
  },
  'GET /api/console/agents': {
    summary: 'Sync agents per store',
    tags: consoleTag,
    response: { 200: consoleAgentsResponseSchema },
  },
  'GET /api/console/alerts': {
    summary: 'Recent alerts',
    tags: consoleTag,
    querystring: consoleListQuerySchema,
    response: { 200: consoleAlertsResponseSchema },
  },
  'GET /api/console/audit': {
    summary: 'The console audit log',
    tags: consoleTag,
    querystring: consoleListQuerySchema,
    response: { 200: consoleAuditResponseSchema },
  },
  'GET /': {
    summary: 'Redirect to the console',
    tags: consoleTag,
    response: { 302: { redirectTo: '/admin/' } },
  },
  'GET /dashboard': {
    summary: 'Redirect to the console',
    tags: consoleTag,
    response: { 302: { redirectTo: '/admin/' } },
  },
  'GET /admin': {
    summary: 'Redirect to the console',
    tags: consoleTag,
    response: { 302: { redirectTo: '/admin/' } },
  },
  'GET /admin/*': {
    summary: 'The console',
    tags: consoleTag,
    params: z.object({ '*': z.string() }),
    response: { 200: consolePage },
  },

  // Real time, operations.
  'GET /ws/stats': {
    summary: 'WebSocket connection statistics',
    tags: ['live'],
    response: { 200: wsStatsSchema },
  },
  'GET /api/sync/epoch': {
    summary: "The database's epoch and the backup it was restored from",
    tags: operations,
    response: { 200: epochResponseSchema },
  },
  'GET /health': {
    summary: 'Health check',
    tags: operations,
    response: { 200: healthResponseSchema, 503: healthUnavailableResponseSchema },
  },
  'GET /health/live': {
    summary: 'Liveness probe',
    tags: operations,
    response: { 200: livenessResponseSchema },
  },
  'GET /health/ready': {
    summary: 'Readiness probe',
    tags: operations,
    response: { 200: readinessResponseSchema, 503: readinessUnavailableResponseSchema },
  },
  'GET /metrics': {
    summary: 'Prometheus metrics',
    tags: operations,
    response: { 200: { mediaType: 'text/plain', description: 'Prometheus text format' } },
  },
  'GET /api/openapi.json': {
    summary: 'This document (OpenAPI 3.1)',
    tags: operations,
    response: { 200: z.record(z.string(), z.unknown()) },
  },
};

/**
 * A WebSocket endpoint (an upgrade, not a Fastify route): the query of its upgrade request
 * besides the credential, and the JSON messages each side sends.
 */
export type SocketContract = {
  summary: string;
  description: string;
  query?: z.ZodObject;
  /** Messages the server sends. */
  receives: z.ZodType;
  /** Messages the client may send. */
  sends?: z.ZodType;
};

export const socketRoutes: Readonly<Record<string, SocketContract>> = {
  '/ws': {
    summary: 'Real-time channel: `changes` notifications for the tables subscribed to',
    description:
      'Opened with `GET` and `Upgrade: websocket`. The token travels as `?token=` or a header; a missing or unknown one is accepted, then closed with 1008. See docs/protocol.md, Real-time.',
    query: z.object({
      tables: z
        .string()
        .max(2000)
        .optional()
        .describe('Comma-separated tables (names or aliases) to hear of; absent = all.'),
    }),
    receives: serverMessageSchema,
    sends: clientMessageSchema,
  },
  '/ws/pedidos': {
    summary: "The pedidos screens' channel (`pedido_update`, `status_update`, …)",
    description: 'Opened and authenticated as `/ws`.',
    receives: serverMessageSchema,
    sends: clientMessageSchema,
  },
  [consoleSocketPath]: {
    summary: "The console's live feed: terminal rows and alerts of the caller's scope",
    description:
      'Opened with `GET` and `Upgrade: websocket`, with a ticket from `POST /api/console/ticket` (one use, 30 seconds).',
    receives: consoleMessageSchema,
  },
};
