/**
 * The sync agent of seed 001 (`pdv-sync agent`): every cycle it reads a time window
 * of sales, shift closures and cash withdrawals from a store's till (`caixa`) and
 * back-office (`gestao`) databases, builds one v4 payload and delivers it to a
 * webhook, through a durable outbox, without losing or duplicating a window.
 */
export {
  loadAgentConfig,
  agentVariables,
  sqlServerUrl,
  type AgentConfig,
  type AgentFlags,
} from './agent-config.js';
export { AgentCycle, type AgentCycleDeps, type CycleReport } from './agent-cycle.js';
export { AgentDaemon } from './agent-daemon.js';
export { acquireLock } from './agent-lock.js';
export { createAgentLogger } from './agent-logger.js';
export { Delivery, type DeliveryOptions, type DeliveryResult } from './delivery.js';
export { runDoctor, doctorCheckIds, type DoctorCheck, type DoctorCheckId } from './doctor.js';
export { Outbox, type OutboxEntry, type DeadLetterReason } from './outbox.js';
export { buildPayload, type PayloadInput } from './payload-builder.js';
export { defaultQueriesDir, loadQuerySet, type QuerySet } from './queries/query-set.js';
export { openSource, dialectOf, type SourceDb, type SourceDialect } from './sources/source-db.js';
export { readState, writeState, type AgentState } from './state-file.js';
export { dueWindows, nextWindow, type SyncWindow, type WindowPolicy } from './window.js';
