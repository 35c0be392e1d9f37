import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the fake server answers to one request. */
export interface FakeReply {
  /** An HTTP error status: the body is an OpenAI-style error object and no stream is sent. */
  status?: number;
  headers?: Record<string, string>;
  error?: { message?: string; type?: string; code?: string; param?: string };
  /** The text pieces streamed, one SSE chunk each. */
  chunks?: string[];
  /** Pause before each chunk. */
  chunkDelayMs?: number;
  /** Sent with the last text chunk; null sends none. */
  finishReason?: 'stop' | 'length' | 'content_filter' | null;
  /** The usage chunk (after the last text chunk); null sends none. Default: counted from the chunks. */
  usage?: { prompt_tokens: number; completion_tokens: number } | null;
  /** Destroys the connection after this many text chunks (a cut mid-stream). */
  cutAfter?: number;
  /** Stops sending after this many text chunks and keeps the connection open (a stall). */
  stallAfter?: number;
  /** The stream waits for this before its last chunk (a test holds calls in flight with it). */
  hold?: Promise<unknown>;
  /** An SSE error object sent after the text chunks instead of a finish. */
  streamError?: boolean;
  /** `data: [DONE]` at the end (default true). */
  done?: boolean;
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: {
    model?: string;
    messages?: Array<{ role: string; content: string }>;
    stream?: boolean;
    stream_options?: { include_usage?: boolean };
    max_tokens?: number;
    max_completion_tokens?: number;
    temperature?: number;
    [key: string]: unknown;
  };
}

/**
 * An OpenAI-compatible Chat Completions server for the tests: real HTTP on 127.0.0.1, real SSE `data:` chunks,
 * a usage chunk and `data: [DONE]`. Each request takes the next scripted reply (`script`), or the default
 * reply when none is left. It records every request, counts calls in flight, and notices connections the
 * client closed before the answer ended.
 */
export class FakeOpenAI {
  readonly requests: RecordedRequest[] = [];
  inFlight = 0;
  maxInFlight = 0;
  /** Answers the client hung up on before they ended (an abort, an idle timeout). */
  clientClosed = 0;
  private readonly queue: FakeReply[] = [];
  private readonly sockets = new Set<import('node:net').Socket>();

  private constructor(
    private readonly server: http.Server,
    public defaultReply: FakeReply,
  ) {}

  static async start(defaultReply: FakeReply = { chunks: ['Hello ', 'world.'] }): Promise<FakeOpenAI> {
    const server = http.createServer();
    const fake = new FakeOpenAI(server, defaultReply);
    server.on('request', (req, res) => void fake.handle(req, res));
    server.on('connection', (socket) => {
      fake.sockets.add(socket);
      socket.on('close', () => fake.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  /** The base URL to give as LLM_BASE_URL. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  /** Replies for the next requests, in order. */
  script(...replies: FakeReply[]): void {
    this.queue.push(...replies);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let raw = '';
    for await (const piece of req) raw += String(piece);
    let body: RecordedRequest['body'] = {};
    try {
      body = JSON.parse(raw) as RecordedRequest['body'];
    } catch {
      // recorded as empty; the test sees it
    }
    this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    const reply = this.queue.shift() ?? this.defaultReply;

    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    let ended = false;
    res.on('close', () => {
      this.inFlight--;
      if (!ended) this.clientClosed++;
    });
    const closed = () => res.destroyed || res.writableEnded;

    if (reply.status && reply.status >= 400) {
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      ended = true;
      res.end(JSON.stringify({ error: { message: 'fake error', type: 'fake_error', code: null, param: null, ...reply.error } }));
      return;
    }

    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', ...reply.headers });
    const id = `chatcmpl-${this.requests.length}`;
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 0, model: body.model ?? 'fake', choices, ...extra })}\n\n`;
    const chunks = reply.chunks ?? [];
    res.write(chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]));
    for (let i = 0; i < chunks.length; i++) {
      if (reply.cutAfter === i) return cut(res);
      if (reply.stallAfter === i) return; // leaves the connection open and silent
      if (i === chunks.length - 1 && reply.hold) await reply.hold;
      if (reply.chunkDelayMs) await new Promise((r) => setTimeout(r, reply.chunkDelayMs));
      if (closed()) return;
      const last = i === chunks.length - 1;
      const finish = last && !reply.streamError ? (reply.finishReason === undefined ? 'stop' : reply.finishReason) : null;
      res.write(chunk([{ index: 0, delta: { content: chunks[i] }, finish_reason: finish }]));
    }
    if (reply.cutAfter === chunks.length) return cut(res);
    if (reply.stallAfter === chunks.length) return;
    if (chunks.length === 0 && !reply.streamError && reply.finishReason !== null) {
      res.write(chunk([{ index: 0, delta: {}, finish_reason: reply.finishReason ?? 'stop' }]));
    }
    if (reply.streamError) {
      res.write(`data: ${JSON.stringify({ error: { message: 'overloaded', type: 'server_error' } })}\n\n`);
    } else if (reply.usage !== null) {
      const completion = chunks.join('').split(/\s+/).filter(Boolean).length;
      const usage = reply.usage ?? { prompt_tokens: 100, completion_tokens: completion };
      res.write(chunk([], { usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } }));
    }
    if (reply.done !== false) res.write('data: [DONE]\n\n');
    ended = true;
    res.end();
  }
}

/** Resets the connection once what was written has had time to arrive (a reset drops unread data). */
async function cut(res: http.ServerResponse): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 30));
  res.socket?.destroy();
}
