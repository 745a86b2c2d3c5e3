import { z } from 'zod';

export const storeIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . -');

export const tokenRoles = ['device', 'manager'] as const;

/**
 * A device token names its machine; a store manager's token (`role: "manager"`)
 * may name itself, or gets a generated name.
 */
export const addDeviceRequestSchema = z
  .object({
    storeId: storeIdSchema,
    machineId: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits, _ . : -')
      .optional(),
    role: z.enum(tokenRoles).optional(),
    /**
     * For a sync agent's token: the store's ids in the agent's source systems (the payload's
     * `store.id_ponto_venda` / `store.id_filial`). A payload naming others is refused (403);
     * left out, the store's first payload binds them.
     */
    idPontoVenda: z
      .number()
      .int()
      .min(Number.MIN_SAFE_INTEGER)
      .max(Number.MAX_SAFE_INTEGER)
      .optional(),
    idFilial: z
      .number()
      .int()
      .min(Number.MIN_SAFE_INTEGER)
      .max(Number.MAX_SAFE_INTEGER)
      .nullable()
      .optional(),
  })
  .refine((d) => d.machineId !== undefined || d.role === 'manager', {
    path: ['machineId'],
    message: 'required for a device token',
  });
export type AddDeviceRequest = z.infer<typeof addDeviceRequestSchema>;

export const addDeviceResponseSchema = z.object({
  token: z.string(),
  storeId: z.string(),
  machineId: z.string(),
  role: z.enum(tokenRoles).optional(),
});
export type AddDeviceResponse = z.infer<typeof addDeviceResponseSchema>;

/** One token as `GET /api/admin/devices` lists it (the token itself is never shown again). */
export const deviceSchema = z.object({
  machine_id: z.string(),
  store_id: z.string().nullable(),
  role: z.string(),
  created_at: z.string(),
  revoked_at: z.string().nullable(),
  last_seen_at: z.string().nullable(),
  pushes: z.number().int(),
  pulls: z.number().int(),
});

export const devicesResponseSchema = z.object({ devices: z.array(deviceSchema) });

/** A machine named in a path (`/api/admin/devices/:machineId`, the console's terminal routes). */
export const machineParamsSchema = z.object({ machineId: z.string().min(1).max(128) });

export const revokeDeviceResponseSchema = z.object({
  revoked: z.literal(true),
  machineId: z.string(),
});

export const tableWriteParamsSchema = z.object({
  table: z.string().min(1).max(64),
  id: z.string().min(1).max(128),
});
