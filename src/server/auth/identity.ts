/** Who is calling: the admin (sees every store) or one device bound to one store and machine. */
export type Identity =
  | { role: 'admin'; machineId: string; storeId: null; tokenHash: string }
  | {
      role: 'device';
      machineId: string;
      storeId: string;
      tokenHash: string;
      /** How a device was recognised when not by its own token (`src/server/auth/external-auth.ts`). */
      via?: 'shared-key' | 'jwt';
    };
