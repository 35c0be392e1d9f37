// The streaming scenario's baseline: the `openai` SDK alone, in its own process, keeping `n` streamed Chat
// Completions in flight against the bench's model API and doing nothing with them but gather each answer's
// text — what any consumer of those streams must spend at least. Its CPU per chunk is the yardstick for the
// service's.
import OpenAI from 'openai';
import { Probe } from './probe.js';
import { serveRpc } from './rpc.js';

const probe = new Probe();
let controllers: AbortController[] = [];
let workers: Promise<void>[] = [];
let failures = 0;

/** A prompt about the size of the service's (system prompt, case facts, earlier sections). */
const PROMPT = 'Write the awards section of an EB-1A petition from the case facts below. '.repeat(40);

async function consume(client: OpenAI, signal: AbortSignal, delayMs: number): Promise<void> {
  await new Promise((r) => setTimeout(r, delayMs));
  while (!signal.aborted) {
    try {
      const stream = await client.chat.completions.create(
        {
          model: 'bench-model',
          messages: [
            { role: 'system', content: 'You draft immigration petitions.' },
            { role: 'user', content: PROMPT },
          ],
          stream: true,
          stream_options: { include_usage: true },
          max_tokens: 1500,
        },
        { signal },
      );
      let text = '';
      for await (const chunk of stream) {
        const delta = chunk.choices[0]?.delta?.content;
        if (delta) text += delta;
      }
      if (!text) failures++;
    } catch {
      if (!signal.aborted) failures++;
    }
  }
}

serveRpc(
  {
    stats: () => ({ ...probe.stats(), failures }),
    resetEld: () => probe.resetEld(),
    /** Opens `n` streams, spread over `spreadMs`; each starts the next answer when one ends. */
    start: ({ baseUrl, n, spreadMs }: { baseUrl: string; n: number; spreadMs: number }) => {
      const client = new OpenAI({ apiKey: 'none', defaultHeaders: { Authorization: null }, baseURL: baseUrl, maxRetries: 0, logLevel: 'off' });
      // One signal per stream, as each of the service's sections has its own.
      controllers = Array.from({ length: n }, () => new AbortController());
      workers = controllers.map((c, i) => consume(client, c.signal, (spreadMs * i) / n));
    },
    stop: async () => {
      for (const c of controllers) c.abort();
      await Promise.allSettled(workers);
      workers = [];
    },
  },
  { pid: process.pid },
);
