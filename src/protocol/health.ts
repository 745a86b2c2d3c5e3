import { z } from 'zod';

/**
 * The probes (no token). `GET /health` and `/health/ready` answer 200 while the database
 * answers and 503 (the `…Unavailable` form) when it does not; `/health/live` only says the
 * process answers.
 */
const dialect = z.enum(['sqlite', 'postgres']);

export const healthResponseSchema = z.object({
  status: z.literal('ok'),
  database: z.literal('ok'),
  dialect,
  uptimeSeconds: z.number().int(),
});

export const healthUnavailableResponseSchema = z.object({
  status: z.literal('degraded'),
  database: z.literal('unavailable'),
  dialect,
});

export const livenessResponseSchema = z.object({ status: z.literal('ok') });

export const readinessResponseSchema = z.object({
  status: z.literal('ready'),
  database: z.literal('ok'),
  migrations: z.literal('done'),
});

export const readinessUnavailableResponseSchema = z.object({
  status: z.literal('not-ready'),
  database: z.literal('unavailable'),
});
