import { z } from 'zod';

/**
 * SPEC §3: 1–64 characters of letters, digits, `.`, `_`, `-`, starting with a letter or digit, no `..`.
 * Such an id is also a safe file-name prefix: no separators, never `.`/`..`, never a leading dot.
 */
export const ExhibitIdSchema = z
  .string({ error: 'is required' })
  .min(1, 'is required')
  .max(64, 'must be at most 64 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must start with a letter or digit and contain only letters, digits and . _ -')
  .refine((id) => !id.includes('..'), 'must not contain ".."');

/** The text fields of an upload form: exactly `exhibit_id`, nothing else. */
export const UploadFieldsSchema = z.strictObject({ exhibit_id: ExhibitIdSchema });
