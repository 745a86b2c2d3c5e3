import { z } from 'zod';

export const storeIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . -');

export const addDeviceRequestSchema = z.object({
  storeId: storeIdSchema,
  machineId: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits, _ . : -'),
});
export type AddDeviceRequest = z.infer<typeof addDeviceRequestSchema>;

export const addDeviceResponseSchema = z.object({
  token: z.string(),
  storeId: z.string(),
  machineId: z.string(),
});
export type AddDeviceResponse = z.infer<typeof addDeviceResponseSchema>;

export const tableWriteParamsSchema = z.object({
  table: z.string().min(1).max(64),
  id: z.string().min(1).max(128),
});
