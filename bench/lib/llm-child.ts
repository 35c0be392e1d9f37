// A model API for the streaming scenario, in its own process so its CPU is not the service's: an
// OpenAI-compatible `POST /v1/chat/completions` that streams every answer as real SSE chunks at a fixed
// pace (BENCH_LLM_CHUNKS_PER_S, one token per chunk), BENCH_LLM_TOKENS tokens per answer on average, then
// the finish chunk, the usage chunk and `data: [DONE]` — the shape OpenAI's API streams with
// `stream_options.include_usage`. Each stream keeps its own schedule (a late tick sends what is due at once),
// and every chunk string is built from pre-encoded pieces: the server stays a small share of the machine.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Probe } from './probe.js';
import { serveRpc } from './rpc.js';

const CHUNKS_PER_S = Number(process.env.BENCH_LLM_CHUNKS_PER_S ?? 50);
const TOKENS = Number(process.env.BENCH_LLM_TOKENS ?? 600);
const TICK_MS = 1000 / CHUNKS_PER_S;

/**
 * The answer's text, cycled through: Markdown as a model writes a petition section (paragraphs, a list,
 * emphasis, exhibit citations of the exhibits the scenario uploads), split into word-sized tokens.
 */
const TEXT = `The Beneficiary has received nationally and internationally recognized prizes for excellence in the field of endeavor, as 8 C.F.R. § 204.5(h)(3)(i) requires. Each award below was granted by a body of recognized standing, judged by experts in the field, and open to competitors from across the profession.

- **Young Investigator Award (2021)**, granted to one researcher each year after review by an international panel (Exhibit 2.1.a).
- **Best Paper, RECOMB (2022)**, chosen from more than four hundred submissions by the program committee (Exhibit 2.2.a).
- **National Science Medal, finalist (2023)**, a distinction that fewer than one percent of nominees reach (Exhibit 2.6.a).

Taken together, these prizes show sustained acclaim rather than a single achievement. The selection criteria published by each granting body, reproduced in the exhibits, confirm that the awards recognize excellence in the field and not mere participation. The petitioner therefore submits that this criterion is met, and that in the final merits determination the awards weigh strongly in favor of finding that the Beneficiary is among the small percentage who have risen to the very top of the field.

`;
const PIECES = TEXT.split(/(?<=\s)(?=\S)/);
/** Each piece as the JSON string literal it is in a chunk, encoded once. */
const ENCODED = PIECES.map((p) => JSON.stringify(p));

let nextId = 0;
let chunks = 0;
let started = 0;
let ended = 0;
let active = 0;
let closedEarly = 0;

function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  let body = 0;
  req.on('data', (piece: Buffer) => {
    body += piece.length;
  });
  req.on('end', () => {
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found","type":"invalid_request_error"}}');
      return;
    }
    stream(res, Math.ceil(body / 4));
  });
}

/** One answer of TOKENS ± 1/6 tokens at CHUNKS_PER_S, on a fixed schedule from its first chunk. */
function stream(res: http.ServerResponse, promptTokens: number): void {
  const id = `chatcmpl-bench${++nextId}`;
  const head = `data: {"id":"${id}","object":"chat.completion.chunk","created":${Math.floor(Date.now() / 1000)},"model":"bench-model","system_fingerprint":"fp_bench","choices":[{"index":0,"delta":{`;
  const tokens = Math.round(TOKENS * (5 / 6 + Math.random() / 3));
  let offset = Math.floor(Math.random() * PIECES.length);
  let sent = 0;
  started++;
  active++;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.write(`${head}"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n`);
  const began = performance.now();
  let timer: NodeJS.Timeout | null = null;
  let done = false;
  const finish = (early: boolean) => {
    if (done) return;
    done = true;
    active--;
    if (early) closedEarly++;
    else ended++;
    if (timer) clearTimeout(timer);
  };
  res.on('close', () => finish(true));
  const tick = () => {
    timer = null;
    if (done) return;
    // Every chunk due by now: a late tick catches up rather than slowing the stream down.
    const due = Math.min(tokens, Math.floor((performance.now() - began) / TICK_MS) + 1);
    let out = '';
    for (; sent < due; sent++) {
      out += `${head}"content":${ENCODED[offset]}},"logprobs":null,"finish_reason":null}]}\n\n`;
      offset = (offset + 1) % PIECES.length;
      chunks++;
    }
    if (sent < tokens) {
      res.write(out);
      timer = setTimeout(tick, Math.max(0, began + sent * TICK_MS - performance.now()));
      return;
    }
    const usage = `{"prompt_tokens":${promptTokens},"completion_tokens":${tokens},"total_tokens":${promptTokens + tokens}}`;
    out += `${head}},"logprobs":null,"finish_reason":"stop"}]}\n\n`;
    out += `${head.slice(0, head.indexOf('"choices"'))}"choices":[],"usage":${usage}}\n\ndata: [DONE]\n\n`;
    finish(false);
    res.end(out);
  };
  timer = setTimeout(tick, TICK_MS);
}

const probe = new Probe();
const server = http.createServer({ keepAliveTimeout: 60_000 }, handle);
server.listen(0, '127.0.0.1');
await new Promise<void>((resolve, reject) => {
  server.once('listening', resolve);
  server.once('error', reject);
});

serveRpc(
  {
    /** Content chunks sent, answers started, finished and cut by the client, and this process's own figures. */
    stats: () => ({ chunks, started, ended, closedEarly, active, process: probe.stats() }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      setImmediate(() => process.exit(0));
    },
  },
  { port: (server.address() as AddressInfo).port, pid: process.pid },
);
