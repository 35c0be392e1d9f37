// The generation thread (`GenerationThread`): the loops and their writer, away from the thread that answers
// requests, with a Redis connection of their own or a port to the main thread's memory store. Besides the
// store's port it talks to the main thread only in the messages below.
import { constants, setPriority } from 'node:os';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { Config } from '../config.js';
import { createLogger } from '../logger.js';
import { instrumentStore } from '../metrics/instrument-store.js';
import { RecordedMetrics } from '../metrics/store-metrics.js';
import { createStore } from '../store/create-store.js';
import { PortStore } from '../store/port-store.js';
import type { FromThread, ToThread } from './generation-thread.js';
import { createRunner } from './create-runner.js';
import { WorkerSanitizer } from './sanitizer.js';

/** Loop starts and ends and metric calls travel together, at most this often. */
const REPORT_MS = 50;

// The loops are background work: when the cores are contended, the thread that answers requests goes first.
// On Linux the nice value is per thread, and this sets this thread's alone (`/proc/self/task/<tid>/stat`).
try {
  setPriority(constants.priority.PRIORITY_BELOW_NORMAL);
} catch {
  // Not allowed here: the thread runs at the process's priority.
}

const port = parentPort;
if (!port) throw new Error('generation-worker runs only as a worker thread');
const { config, storePort } = workerData as { config: Config; storePort: MessagePort | null };
const logger = createLogger(config).child({ thread: 'generation' });
const send = (message: FromThread) => port.postMessage(message);

const queued: ToThread[] = [];
let handle: ((message: ToThread) => void) | null = null;
port.on('message', (message: ToThread) => (handle ? handle(message) : queued.push(message)));

const metrics = new RecordedMetrics();
// The main thread's memory store through a port, or a connection of the thread's own to Redis.
const rawStore = storePort ? new PortStore(storePort) : await createStore(config, logger);
const store = instrumentStore(rawStore, metrics);
const sanitizer = new WorkerSanitizer();
let loops: [string, boolean][] = [];
const runner = createRunner(config, {
  store,
  logger,
  sanitizer,
  onLoop: (threadId, running) => loops.push([threadId, running]),
});

function report(): void {
  const calls = metrics.take();
  if (loops.length === 0 && calls.length === 0) return;
  send({ t: 'report', loops, metrics: calls });
  loops = [];
}
const reporter = setInterval(report, REPORT_MS);

async function close(): Promise<void> {
  clearInterval(reporter);
  await runner.close();
  report();
  await sanitizer.close();
  await store.close();
  send({ t: 'closed' });
}

handle = (message) => {
  switch (message.t) {
    case 'ensure':
      runner.ensureRunning(message.threadId);
      break;
    case 'stop':
      void runner.stop(message.threadId).then(() => {
        report(); // the loop's end arrives before the answer
        send({ t: 'stopped', req: message.req });
      });
      break;
    case 'recover':
      runner.startRecovery();
      break;
    case 'close':
      close().catch((err: unknown) => {
        logger.error({ err }, 'generation thread did not close cleanly');
        send({ t: 'closed' });
      });
      break;
  }
};
for (const message of queued.splice(0)) handle(message);
send({ t: 'ready' });
