import { z } from 'zod';
import { unstorableText } from './coercion.js';

/** A row id: strings, or integers as seed 000 sends them (stored as text). */
export const rowIdSchema = z.union([
  z.string().min(1).max(128),
  z.number().int().safe().transform(String),
]);

/** A record as sent on the wire: a flat JSON object with an id; columns are checked against the table. */
export const recordSchema = z.object({ id: rowIdSchema }).catchall(z.unknown());
export type WireRecord = z.infer<typeof recordSchema>;

/**
 * Event ids are client-generated (UUIDv7 recommended); any 1–128 char string is accepted
 * that both engines can store (no NUL, no lone UTF-16 surrogate).
 */
export const eventIdSchema = z
  .string()
  .min(1)
  .max(128)
  .refine((s) => unstorableText(s) === null, 'contains a NUL character or a lone surrogate');
