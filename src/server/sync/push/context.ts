import type { Mutation, TableDef } from '../../../protocol/index.js';
import type { Identity } from '../../auth/index.js';
import type { SqlExecutor, Storage } from '../../storage/index.js';

/** What every stage of one push batch needs, passed as one value instead of four arguments. */
export type PushContext = {
  readonly tx: SqlExecutor;
  readonly storage: Storage;
  readonly identity: Identity;
  readonly machineId: string;
};

/** A mutation that passed every check that needs no database (see `decode.ts`). */
export type Prepared = {
  /** Position in the request: results are answered in request order. */
  index: number;
  mutation: Mutation;
  table: TableDef;
  id: string;
  /**
   * The row's store in a store-scoped table, as text (rows there are (store, id)): the
   * device's own, or the one an admin's record names; null for a global table.
   */
  store: string | null;
  values: Record<string, unknown>;
  /** Client time of the write, clamped to the server clock plus the allowed skew. */
  clientTime: string | null;
};

/** A row as it stands on the server, with its change-log version and server write time. */
export type Existing = { row: Record<string, unknown>; version: number; updatedAt: string | null };
