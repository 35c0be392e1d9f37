import { z } from 'zod';
import { DOCUMENT_TYPES, EXHIBIT_TEXT_STATUSES, SECTION_STATUSES, WORKFLOW_STATUSES } from '../../domain/types.js';
import { ERROR_CODES } from '../../errors.js';

/**
 * The shapes of every JSON response, in one place. The OpenAPI document is generated from these (and from
 * the request schemas in `../schemas.ts`), and tests/production checks real responses against it, so a
 * route that changes its output without changing these fails the suite.
 */

const Timestamp = z.iso.datetime().meta({ description: 'ISO 8601, UTC, with a Z' });
const ThreadId = z.uuid({ version: 'v4' }).meta({ description: 'Workflow (thread) id, a UUID v4' });

export const ErrorBodySchema = z
  .strictObject({
    detail: z.string().meta({ description: 'Human-readable message' }),
    code: z.enum(ERROR_CODES).meta({ description: 'Stable machine-readable code (README: error codes)' }),
  })
  ;

export const StartResponseSchema = z
  .strictObject({
    thread_id: ThreadId,
    status: z.literal('generating'),
    message: z.string().meta({ examples: ['Document generation started for case case-42'] }),
  })
  ;

export const PauseResponseSchema = z
  .strictObject({ status: z.literal('paused'), message: z.literal('Document generation paused successfully') })
  ;

export const ResumeResponseSchema = z
  .strictObject({ status: z.literal('generating'), message: z.literal('Document generation resumed successfully') })
  ;

const SectionSchema = z.strictObject({
  section_id: z.string(),
  section_name: z.string(),
  section_order: z.int().positive(),
  status: z.enum(SECTION_STATUSES),
  content_html: z.string().meta({ description: 'Sanitised HTML (a small allow-list of tags)' }),
  updated_at: Timestamp,
  tokens_used: z.int().nonnegative(),
  citations: z.array(z.string()).optional().meta({ description: 'Once completed: exhibit ids the text cites, in order of first mention' }),
  unknown_citations: z.array(z.string()).optional().meta({ description: 'Of `citations`, those that were not exhibits when it completed' }),
  error_message: z.string().optional(),
});

const ExhibitSchema = z.strictObject({
  exhibit_id: z.string(),
  filename: z.string().meta({ description: "The client's original file name" }),
  file_path: z.string().meta({ description: 'Where GET serves the file: /api/exhibits/{thread_id}/{stored_name}' }),
  file_size: z.int().nonnegative(),
  mime_type: z.string().meta({ description: 'Detected from the bytes' }),
  uploaded_at: Timestamp,
  text_status: z.enum(EXHIBIT_TEXT_STATUSES).optional(),
  text_chars: z.int().nonnegative().optional().meta({ description: 'When ready: characters of extracted text' }),
  text_error: z.string().optional().meta({ description: 'When failed or unsupported: why' }),
});

const MetadataSchema = z.strictObject({
  total_sections: z.int().nonnegative(),
  completed_sections: z.int().nonnegative(),
  progress_percentage: z.number().min(0).max(100),
  elapsed_time: z.int().nonnegative().meta({ description: 'Whole seconds spent generating (paused time excluded)' }),
  estimated_remaining: z.number().nonnegative().meta({ description: 'Seconds' }),
  total_tokens: z.int().nonnegative(),
  estimated_cost: z.number().nonnegative().meta({ description: 'USD' }),
  prompt_tokens: z.int().nonnegative().meta({ description: 'Sum over completed sections (model writer)' }),
  completion_tokens: z.int().nonnegative().meta({ description: 'Sum over completed sections (model writer)' }),
});

const LogSchema = z.strictObject({
  timestamp: Timestamp,
  level: z.enum(['info', 'success', 'warning', 'error']),
  message: z.string(),
  agent: z.string(),
});

export const PreviewSchema = z
  .strictObject({
    thread_id: ThreadId,
    status: z.enum(WORKFLOW_STATUSES),
    case_id: z.string(),
    document_type: z.enum(DOCUMENT_TYPES),
    created_at: Timestamp,
    error_message: z.string().optional(),
    sections: z.array(SectionSchema).meta({ description: 'Ordered by section_order' }),
    exhibits: z.array(ExhibitSchema).meta({ description: 'Ordered by upload time' }),
    metadata: MetadataSchema,
    logs: z.array(LogSchema).max(50).meta({ description: 'The newest 50, oldest first' }),
  })
  ;

export const UploadResponseSchema = z
  .strictObject({
    success: z.literal(true),
    exhibit_id: z.string(),
    filename: z.string(),
    file_path: z.string(),
  })
  ;

export const UploadFormSchema = z
  .strictObject({
    exhibit_id: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/)
      .meta({ description: 'Letters, digits, . _ -; starts with a letter or digit; no ".."' }),
    file: z.string().meta({ format: 'binary', description: 'Exactly one file: PDF, PNG, JPEG, GIF, WEBP, TIFF, DOCX or UTF-8 text' }),
  })
  ;

export const HealthSchema = z.strictObject({ status: z.literal('ok') });
export const ReadySchema = z.strictObject({ status: z.literal('ready') });

const DocumentListItemSchema = z.strictObject({
  thread_id: ThreadId,
  case_id: z.string(),
  user_id: z.string(),
  document_type: z.enum(DOCUMENT_TYPES),
  status: z.enum(WORKFLOW_STATUSES),
  progress_percentage: z.number().min(0).max(100),
  completed_sections: z.int().nonnegative(),
  total_sections: z.int().nonnegative(),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const DocumentListSchema = z.strictObject({
  items: z.array(DocumentListItemSchema).max(100).meta({ description: 'Newest created_at first, ties by thread_id' }),
  next_cursor: z
    .string()
    .nullable()
    .meta({ description: 'Pass as `cursor` for the next page; null on the last page' }),
});
