import http from 'node:http';

export interface SseTarget {
  host: string;
  port: number;
}

/**
 * Simulated dashboards on the live event stream (`GET /api/document/events/:id`), in the bench process:
 * each holds its own connection and counts the events it receives (a frame with an `event:` line). A
 * stream the server ends, or one that fails, is counted and not reopened.
 */
export class SseClients {
  events = 0;
  bytes = 0;
  errors = 0;
  /** Streams that answered something else than 200. */
  refused = 0;
  ended = 0;
  /** Streams whose response has begun: their connection was accepted. */
  responded = 0;
  private readonly requests = new Set<http.ClientRequest>();
  private stopped = false;

  /** Opens a stream on `threadId` at `target`. */
  add(target: SseTarget, threadId: string): void {
    const req = http.get({
      host: target.host,
      port: target.port,
      path: `/api/document/events/${threadId}`,
      headers: { accept: 'text/event-stream' },
      agent: false,
    });
    this.requests.add(req);
    req.on('response', (res) => {
      this.responded++;
      if (res.statusCode !== 200) {
        this.refused++;
        res.resume();
        return;
      }
      res.setEncoding('utf8');
      let carry = '';
      res.on('data', (text: string) => {
        this.bytes += Buffer.byteLength(text);
        const frames = (carry + text).split('\n\n');
        carry = frames.pop() ?? '';
        for (const f of frames) if (f.startsWith('event:') || f.includes('\nevent:')) this.events++;
      });
      res.on('end', () => {
        this.requests.delete(req);
        if (!this.stopped) this.ended++;
      });
    });
    req.on('error', () => {
      this.requests.delete(req);
      if (!this.stopped) this.errors++;
    });
  }

  get open(): number {
    return this.requests.size;
  }

  /** Counts events and bytes from now on; failures keep counting from the first stream opened. */
  resetRates(): void {
    this.events = 0;
    this.bytes = 0;
  }

  stop(): void {
    this.stopped = true;
    for (const req of this.requests) req.destroy();
    this.requests.clear();
  }
}
