export * from './storage.js';
export { openStorage } from './open-storage.js';
export { SqliteStorage } from './sqlite/sqlite-storage.js';
export { PostgresStorage } from './postgres/postgres-storage.js';
