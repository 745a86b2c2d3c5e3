/** Who is calling: the admin (sees every store), one device bound to one store and machine, or a store manager. */
export type Identity =
  | { role: 'admin'; machineId: string; storeId: null; tokenHash: string }
  | {
      role: 'device';
      machineId: string;
      storeId: string;
      tokenHash: string;
      /** How a device was recognised when not by its own token (`src/server/auth/external-auth.ts`). */
      via?: 'shared-key' | 'jwt';
    }
  /** A store manager: one store, no machine (`machineId` is the token's name). */
  | { role: 'manager'; machineId: string; storeId: string; tokenHash: string };
