// The service under test, in its own process so its RSS and event-loop delay are its own. It is built
// exactly as src/server.ts builds it (createDeps + createApp + createHttpServer) and listens on loopback;
// the parent drives it over IPC for seeding and measurements only — nothing here is reachable over HTTP.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { createApp } from '../../src/app.js';
import { createHttpServer } from '../../src/http/http-server.js';
import { loadConfig } from '../../src/config.js';
import { closeDeps, createDeps, startBackgroundWork } from '../../src/deps.js';
import { createLogger } from '../../src/logger.js';
import { logEntry } from '../../src/domain/logs.js';
import type { ExtractionEvent } from '../../src/exhibits/text/text-service.js';
import { createStore } from '../../src/store/create-store.js';
import { CASE_FACTS, benchExhibits } from './fixtures.js';
import { Probe } from './probe.js';
import { serveRpc } from './rpc.js';
import { SectionWriteCounter } from './section-writes.js';

const probe = new Probe();
const config = loadConfig({ ...process.env, PORT: '0', HOST: '127.0.0.1' });
const logger = config.logLevel === 'silent' ? pino({ level: 'silent' }) : createLogger(config);
// BENCH_COUNT_SECTION_WRITES=1 (the streaming scenario): every section write is counted, per section.
const sectionWrites = process.env.BENCH_COUNT_SECTION_WRITES ? new SectionWriteCounter() : null;
const deps = await createDeps(config, logger, sectionWrites ? { store: sectionWrites.install(await createStore(config, logger)) } : {});
const app = createApp(deps);
const server = createHttpServer(app, config).listen(0, '127.0.0.1');
await new Promise<void>((resolve, reject) => {
  server.once('listening', resolve);
  server.once('error', reject);
});
// As src/server.ts does once listening: the recovery sweep and the PDF renderer's warm-up (fonts), which a
// server in service has long finished — hence the wait.
startBackgroundWork(deps);
await new Promise((r) => setTimeout(r, 1500));
const port = (server.address() as AddressInfo).port;
// Finished exhibit text extractions, for scenario 8.
const textEvents: ExtractionEvent[] = [];
deps.text.onExtracted((event) => textEvents.push(event));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not reached within ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** A completed petition with `exhibits` exhibits and exactly `logs` log lines (needs 0 ms sections). */
async function seed({ logs = 50, exhibits = 10 }: { logs?: number; exhibits?: number }): Promise<string> {
  const { thread_id } = await deps.service.start({
    case_id: `BENCH-${Date.now()}`,
    user_id: 'bench@example.com',
    document_type: 'petition',
    case_facts: CASE_FACTS,
  });
  // Recorded as the upload endpoint records them, before the writer reaches the criteria that cite them.
  for (const exhibit of benchExhibits(thread_id, exhibits)) {
    await deps.store.putExhibit(thread_id, exhibit, logEntry('success', `Exhibit uploaded: ${exhibit.filename}`));
  }
  await waitUntil(async () => (await deps.store.getHead(thread_id))?.status === 'completed', 30_000);
  const current = (await deps.store.get(thread_id))?.logs.length ?? 0;
  for (let i = current; i < logs; i++) {
    await deps.store.appendLog(thread_id, logEntry('info', `Reviewer note ${i + 1}: checked citations and exhibit references`));
  }
  return thread_id;
}

async function countCompleted(ids: string[]): Promise<number> {
  let n = 0;
  for (const id of ids) if ((await deps.store.getHead(id))?.status === 'completed') n++;
  return n;
}

/** Heap bytes per stored completed workflow: `count` petitions generated through the real service. */
async function heapPerWorkflow({ count, batch = 500 }: { count: number; batch?: number }) {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('start this child with --expose-gc');
  const settle = async () => {
    // Several rounds: weakly held objects (AbortSignal.any's bookkeeping) need more than one GC to go.
    for (let i = 0; i < 6; i++) {
      gc();
      await sleep(100);
    }
    return process.memoryUsage().heapUsed;
  };
  const base = await settle();
  const ids: string[] = [];
  for (let done = 0; done < count; done += batch) {
    const n = Math.min(batch, count - done);
    const started = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        deps.service.start({
          case_id: `MEM-${done + i}`,
          user_id: 'bench@example.com',
          document_type: 'petition',
          case_facts: CASE_FACTS,
        }),
      ),
    );
    const batchIds = started.map((s) => s.thread_id);
    ids.push(...batchIds);
    await waitUntil(async () => (await countCompleted(batchIds)) === batchIds.length, 60_000);
  }
  const completed = await countCompleted(ids);
  const stored = await settle();
  for (const id of ids) await deps.preview.render(id);
  const cached = await settle();
  const sample = await deps.preview.render(ids[0] ?? '');
  return {
    count,
    completed,
    bytesPerWorkflow: (stored - base) / count,
    previewJsonBytes: sample?.body?.length ?? 0,
    // After one preview each: the cache added, and the section strings flattened by serialising them.
    bytesWithPreviewPerWorkflow: (cached - base) / count,
  };
}

/**
 * Starts `count` petitions in-process (the capacity and streaming ramp-ups), in batches spread over
 * `spreadMs`, each with `exhibits` exhibits recorded first (as uploads before generation reaches them).
 */
async function startMany({ count, batches = 10, spreadMs = 5000, exhibits = 0 }: { count: number; batches?: number; spreadMs?: number; exhibits?: number }) {
  const ids: string[] = [];
  const per = Math.ceil(count / batches);
  for (let b = 0; b < batches && ids.length < count; b++) {
    const began = Date.now();
    const n = Math.min(per, count - ids.length);
    // Concurrently within a batch, so that a Redis store pipelines the creations.
    const started = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const { thread_id } = await deps.service.start({
          case_id: `CAP-${ids.length + i}`,
          user_id: 'bench@example.com',
          document_type: 'petition',
          case_facts: CASE_FACTS,
        });
        for (const exhibit of benchExhibits(thread_id, exhibits)) {
          await deps.store.putExhibit(thread_id, exhibit, logEntry('success', `Exhibit uploaded: ${exhibit.filename}`));
        }
        return thread_id;
      }),
    );
    ids.push(...started);
    await sleep(Math.max(0, spreadMs / batches - (Date.now() - began)));
  }
  return ids;
}

/**
 * BENCH_HEAP_SAMPLE=<file prefix>: from the last `resetEld` (the start of a measured window; an earlier
 * sample is dropped) for BENCH_HEAP_SAMPLE_SECS (default 20), V8's sampling heap profile of what is still
 * alive at the end or died in a full collection — what was promoted — written to
 * `<prefix>-<pid>-<n>.heapprofile` (a debugging aid).
 */
let heapSamples = 0;
let heapSession: Session | null = null;
function sampleHeap(): void {
  const prefix = process.env.BENCH_HEAP_SAMPLE;
  if (!prefix) return;
  heapSession?.disconnect(); // drops the sample in progress
  const session = (heapSession = new Session());
  session.connect();
  const n = ++heapSamples;
  void (async () => {
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 16_384,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: false,
    });
    await sleep(Number(process.env.BENCH_HEAP_SAMPLE_SECS ?? 20) * 1000);
    if (heapSession !== session) return;
    const { profile } = await session.post('HeapProfiler.stopSampling');
    writeFileSync(`${prefix}-${process.pid}-${n}.heapprofile`, JSON.stringify(profile));
    session.disconnect();
    heapSession = null;
  })().catch(() => undefined);
}

serveRpc(
  {
    stats: () => ({ ...probe.stats(), activeLoops: deps.runner.activeLoops }),
    resetEld: () => {
      sampleHeap();
      return probe.resetEld();
    },
    startPeak: () => probe.startPeak(),
    stopPeak: () => probe.stopPeak(),
    seed,
    heapPerWorkflow,
    activeLoops: () => deps.runner.activeLoops,
    startMany,
    /** The extractions finished since the last call, and how many jobs are queued or running. */
    textEvents: () => ({ events: textEvents.splice(0), busy: deps.text.busy }),
    sectionWrites: () => {
      if (!sectionWrites) throw new Error('start the service with BENCH_COUNT_SECTION_WRITES=1');
      return sectionWrites.summary(config.llm.flushMs);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await closeDeps(deps);
      setImmediate(() => process.exit(0));
    },
  },
  { port, pid: process.pid, store: config.redisUrl ? 'redis' : 'memory' },
);
