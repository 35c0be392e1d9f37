import { z } from 'zod';
import { DOCUMENT_TYPES } from '../domain/types.js';

const noControlChars = (s: string) => !/\p{Cc}/u.test(s);

const CaseOrUserId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:@-]+$/, 'may contain only letters, digits and . _ : @ -');

const FactText = z.string().trim().min(1).max(200).refine(noControlChars, 'must not contain control characters');
const FactList = z
  .array(z.string().trim().min(1).max(500).refine(noControlChars, 'must not contain control characters'))
  .max(50);

export const CaseFactsSchema = z.strictObject({
  beneficiary_name: FactText.optional(),
  field: FactText.optional(),
  awards: FactList.optional(),
  memberships: FactList.optional(),
  publications: FactList.optional(),
});

export const StartBodySchema = z.strictObject({
  case_id: CaseOrUserId,
  user_id: CaseOrUserId,
  document_type: z.enum(DOCUMENT_TYPES).default('petition'),
  case_facts: CaseFactsSchema.optional(),
});

export type StartBody = z.infer<typeof StartBodySchema>;
