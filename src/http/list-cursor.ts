import { createHash } from 'node:crypto';
import { isListPosition } from '../domain/document-list.js';

/**
 * The opaque `cursor` of `GET /api/documents`: a list position (domain/document-list.ts) with a checksum,
 * base64url. The checksum tells a cursor this service made from anything else (a typo, a truncated copy, a
 * cursor of another API) so that those get a 400 instead of a wrong page. It is not a secret: a cursor only
 * says where a page starts, never which documents a caller may see, so a forged one gains nothing. Every
 * process makes and reads the same cursors.
 */

const DOMAIN = 'document-monitor list cursor v1\n';

const checksum = (position: string) => createHash('sha256').update(DOMAIN + position).digest().subarray(0, 12);

export function encodeCursor(position: string): string {
  return Buffer.concat([Buffer.from(position, 'latin1'), checksum(position)]).toString('base64url');
}

/** The position a cursor carries, or null when it is not one of ours. */
export function decodeCursor(cursor: string): string | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return null;
  const bytes = Buffer.from(cursor, 'base64url');
  if (bytes.length <= 12) return null;
  const position = bytes.subarray(0, -12).toString('latin1');
  if (!isListPosition(position) || !checksum(position).equals(bytes.subarray(-12))) return null;
  // One canonical spelling: base64url has several for the same bytes (unused trailing bits).
  return encodeCursor(position) === cursor ? position : null;
}
