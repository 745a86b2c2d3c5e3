/**
 * The wire protocol's version, sent as `x-pdv-sync-protocol` on every response.
 * History:
 * 1 — push/pull with opaque cursors, per-table form, single events (seed 003).
 */
export const protocolVersion = 1;
