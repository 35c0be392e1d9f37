// Server-sent events over fetch: unlike EventSource, fetch can send an Authorization header.

/**
 * A streaming parser of the text/event-stream format (the HTML standard's rules): feed it text as it
 * arrives, in pieces of any size; it calls onEvent({ type, data, id }) for each complete event and
 * onRetry(ms) for a `retry:` field. Comments (`:` lines) are ignored; an event without data is not dispatched.
 */
export class SseParser {
  constructor({ onEvent, onRetry = () => {} }) {
    this.onEvent = onEvent;
    this.onRetry = onRetry;
    this.buffer = '';
    this.type = '';
    this.data = [];
    this.lastEventId = '';
    this.sawCr = false;
  }

  push(text) {
    let chunk = text;
    // A \r\n split across two chunks: the \n belongs to the line the \r ended.
    if (this.sawCr && chunk.startsWith('\n')) chunk = chunk.slice(1);
    this.sawCr = false;
    this.buffer += chunk;
    let start = 0;
    for (;;) {
      const match = /\r\n|\r|\n/g;
      match.lastIndex = start;
      const found = match.exec(this.buffer);
      if (!found) break;
      // A \r at the very end may be the first half of \r\n: wait for more.
      if (found[0] === '\r' && found.index === this.buffer.length - 1) {
        this.line(this.buffer.slice(start, found.index));
        start = this.buffer.length;
        this.sawCr = true;
        break;
      }
      this.line(this.buffer.slice(start, found.index));
      start = found.index + found[0].length;
    }
    this.buffer = this.buffer.slice(start);
  }

  line(line) {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.type = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.onRetry(Number(value));
  }

  dispatch() {
    const { type, data } = this;
    this.type = '';
    this.data = [];
    if (data.length === 0) return;
    this.onEvent({ type: type || 'message', data: data.join('\n'), id: this.lastEventId });
  }
}

/** An HTTP answer other than a stream: its status and the server's {detail, code} when it sent one. */
export class StreamRefused extends Error {
  constructor(status, body) {
    super(body?.detail ?? `The server answered ${status}`);
    this.status = status;
    this.code = body?.code;
  }
}

/**
 * Reads one event stream until it ends, the signal aborts, or the connection fails. Resolves when the
 * server ends the stream; rejects with StreamRefused for a non-stream answer (401, 404, 503, ...) and with
 * the network error otherwise. `onOpen` runs once the stream is accepted.
 */
export async function readEventStream(url, { headers = {}, signal, onOpen, onEvent, onRetry }) {
  const res = await fetch(url, { headers: { Accept: 'text/event-stream', ...headers }, cache: 'no-store', signal });
  const type = res.headers.get('content-type') ?? '';
  if (!res.ok || !type.startsWith('text/event-stream') || !res.body) {
    let body = null;
    try {
      body = await res.json();
    } catch {
      body = null;
    }
    throw new StreamRefused(res.status, body);
  }
  onOpen?.();
  const parser = new SseParser({ onEvent, onRetry });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return parser.lastEventId;
      parser.push(value);
    }
  } finally {
    reader.releaseLock();
  }
}
