import { z } from 'zod';

/**
 * Real-time messages over WebSocket. A notification says *that* rows changed and
 * up to which version; the terminal then pulls from its own durable cursor, so
 * live updates and offline catch-up are one mechanism (docs/protocol.md).
 *
 * Two channels:
 * - `global` at `/ws`: `changes` notifications for the tables a connection subscribed to;
 * - `pedidos` at `/ws/pedidos`: seed 004's messages (`pedido_update`, `status_update`, …).
 *
 * This file has no Node-only imports: the browser hooks (`pdv-sync/react`) use it too.
 */

export const liveChannels = ['global', 'pedidos'] as const;
export type LiveChannel = (typeof liveChannels)[number];

/** The WebSocket path of each channel. */
export const liveChannelPaths: Readonly<Record<string, LiveChannel>> = {
  '/ws': 'global',
  '/ws/pedidos': 'pedidos',
};

/** Close codes the server uses (RFC 6455 and the private 4000–4999 range). */
export const liveCloseCodes = {
  /** Missing, unknown or revoked token (seed 004). */
  policyViolation: 1008,
  /** The server is shutting down; reconnect later. */
  goingAway: 1001,
  /** The connection fell too far behind (send buffer full); reconnect and pull from the cursor. */
  tooSlow: 4008,
  /** No answer to heartbeats. */
  heartbeatTimeout: 4000,
  /** This token already holds its share of WebSocket slots (`--ws-max-connections-per-token`). */
  tryAgainLater: 1013,
} as const;

export const liveActions = ['create', 'update', 'delete'] as const;
export type LiveAction = (typeof liveActions)[number];

/**
 * One committed change, announced in change-log order. `version` orders the changes of one row;
 * `create` means the row appeared after the last announcement (first news of it).
 */
export const liveChangeSchema = z.object({
  table: z.string(),
  id: z.string(),
  op: z.enum(['upsert', 'delete']),
  action: z.enum(liveActions),
  version: z.number().int(),
});
export type LiveChange = z.infer<typeof liveChangeSchema>;

const timestamp = z.string();

export const connectionMessageSchema = z.object({
  type: z.literal('connection'),
  status: z.literal('connected'),
  channel: z.enum(liveChannels),
  message: z.string(),
  /** The server's change-log position when the connection opened: pull up to here to catch up. */
  cursor: z.string(),
  /** Server heartbeat period; a client that hears nothing for twice this should reconnect. */
  heartbeatMs: z.number().int(),
  timestamp,
});

export const changesMessageSchema = z.object({
  type: z.literal('changes'),
  /** Cursor just after the last change of this message (pull with it to get the rows). */
  cursor: z.string(),
  changes: z.array(liveChangeSchema),
  timestamp,
});

export const pedidoUpdateMessageSchema = z.object({
  type: z.literal('pedido_update'),
  action: z.enum(liveActions),
  /** A number when the schema declares the table's `id` integer (seed 004 compares `pedido.id === msg.pedido_id`). */
  pedido_id: z.union([z.string(), z.number().int()]),
  /** The pedido as committed; null for a delete. */
  data: z.record(z.string(), z.unknown()).nullable(),
  version: z.number().int(),
  /**
   * The change's position as a cursor: compare it with the `pedidos` snapshot's
   * cursor (versions order one row's changes, not changes of different rows).
   */
  cursor: z.string().optional(),
  timestamp,
});

export const statusUpdateMessageSchema = z.object({
  type: z.literal('status_update'),
  /** A number when the schema declares the table's `id` integer (seed 004 compares `pedido.id === msg.pedido_id`). */
  pedido_id: z.union([z.string(), z.number().int()]),
  status_field: z.string(),
  new_value: z.unknown(),
  version: z.number().int(),
  /** As in `pedido_update`. */
  cursor: z.string().optional(),
  timestamp,
});

export const refreshRequiredMessageSchema = z.object({
  type: z.literal('refresh_required'),
  message: z.string(),
  timestamp,
});

export const pongMessageSchema = z.object({ type: z.literal('pong'), timestamp });

/** Answer to `get_pedidos`: every pedido the token may read, with the cursor they are current to. */
export const pedidosMessageSchema = z.object({
  type: z.literal('pedidos'),
  pedidos: z.array(z.record(z.string(), z.unknown())),
  /** Present (true) when the list stopped at the server's bound (`--ws-snapshot-max-rows`). */
  truncated: z.boolean().optional(),
  cursor: z.string(),
  timestamp,
});

export const liveErrorMessageSchema = z.object({
  type: z.literal('error'),
  code: z.string(),
  message: z.string(),
  timestamp,
});

export const serverMessageSchema = z.discriminatedUnion('type', [
  connectionMessageSchema,
  changesMessageSchema,
  pedidoUpdateMessageSchema,
  statusUpdateMessageSchema,
  refreshRequiredMessageSchema,
  pongMessageSchema,
  pedidosMessageSchema,
  liveErrorMessageSchema,
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;
export type ChangesMessage = z.infer<typeof changesMessageSchema>;
export type PedidoUpdateMessage = z.infer<typeof pedidoUpdateMessageSchema>;
export type StatusUpdateMessage = z.infer<typeof statusUpdateMessageSchema>;
export type ConnectionMessage = z.infer<typeof connectionMessageSchema>;

export const clientMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ping') }),
  z.object({ type: z.literal('get_pedidos') }),
  /** Global channel: replaces the connection's table list (names or aliases); empty = every readable table. */
  z.object({ type: z.literal('subscribe'), tables: z.array(z.string().max(64)).max(100) }),
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;

export const wsStatsSchema = z.object({
  total_connections: z.number().int(),
  connections_by_type: z.record(z.string(), z.number().int()),
  active_types: z.array(z.string()),
  messages_sent: z.number().int(),
  messages_dropped: z.number().int(),
  /** Connections closed because their send buffer was full. */
  slow_consumers_cut: z.number().int(),
  /** Change-log position the server has announced up to. */
  announced_cursor: z.string(),
});
export type WsStats = z.infer<typeof wsStatsSchema>;
