/** Where the hub writes one client's stream; the HTTP layer adapts a response to it. */
export interface EventSink {
  /** Writes raw SSE text; false when the socket's buffer is full. */
  write(chunk: string): boolean;
  /** Bytes queued in the socket but not yet sent (a slow or stalled client). */
  bufferedBytes(): number;
  /** Ends the stream. */
  end(): void;
}

/**
 * One SSE frame. JSON.stringify never emits a raw newline, so `data` is always a single line; the id and
 * type are produced by this module and contain no newline either.
 */
export function frame(type: string, data: unknown, id?: string): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

export const HEARTBEAT_FRAME = ': heartbeat\n\n';

/**
 * Event ids are `<version>` for a snapshot (the client holds everything up to that store version) and
 * `<version>-<n>` for the n-th event (from 1) of the change that produced `version`. They increase in
 * (version, n) order, and being store versions they mean the same thing in every process.
 */
export interface EventId {
  version: number;
  /** 0 for a snapshot. */
  n: number;
}

export function formatEventId({ version, n }: EventId): string {
  return n === 0 ? String(version) : `${version}-${n}`;
}

export function parseEventId(raw: string | undefined): EventId | null {
  const m = raw ? /^(\d{1,15})(?:-(\d{1,6}))?$/.exec(raw.trim()) : null;
  if (!m) return null;
  const n = m[2] === undefined ? 0 : Number(m[2]);
  if (m[2] !== undefined && n === 0) return null;
  return { version: Number(m[1]), n };
}
