// `npm run soak`: the service under random load while faults are injected, then a check that nothing was
// lost and nothing left behind. Loopback only; minutes, bounded by a watchdog.
//
//   npm run soak -- [--seconds=180] [--stores=redis,memory] [--workers=6]
//
// Redis: two service processes on one private redis-server; Redis is frozen (SIGSTOP) and thawed twice and
// one process is SIGKILLed and restarted. Memory: one process, SIGKILLed and restarted once (its state is
// lost with it: the workflows it held are gone, and their files must go too). Afterwards every surviving
// workflow must reach `completed` with each section written once, and UPLOAD_DIR / PDF_DIR must hold
// exactly the files of surviving workflows (the janitor runs every few seconds with a short grace here).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SoakClient } from './lib/soak-client.js';
import { idsOnDisk, missingFiles, orphans, readLive, sectionsNotOnce, type Preview } from './lib/soak-check.js';
import { SoakRedis, SoakService } from './lib/soak-services.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '180' },
    stores: { type: 'string', default: 'redis,memory' },
    workers: { type: 'string', default: '6' },
  },
});
const SECONDS = Number(values.seconds);
const WORKERS = Number(values.workers);
const STORES = values.stores.split(',').filter((s): s is 'redis' | 'memory' => s === 'redis' || s === 'memory');
if (!(SECONDS >= 10) || !(WORKERS >= 1) || STORES.length === 0) {
  console.error('usage: npm run soak -- [--seconds=N (>= 10)] [--stores=redis,memory] [--workers=N]');
  process.exit(2);
}

const JANITOR = { intervalMs: 3000, graceMs: 8000 };
const FREEZE_MS = 4000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanups: Array<() => Promise<void>> = [];

// Bounded: whatever happens, the soak ends (and takes its processes with it).
const watchdog = setTimeout(
  () => {
    console.error('soak: watchdog fired; stopping');
    void Promise.allSettled(cleanups.map((c) => c())).then(() => process.exit(3));
  },
  (STORES.length * (SECONDS + 300) + 60) * 1000,
);
watchdog.unref();

interface Outcome {
  store: string;
  operations: number;
  perOperation: string[];
  faults: string[];
  started: number;
  deleted: number;
  survivors: number;
  notCompleted: string[];
  sections: ReturnType<typeof sectionsNotOnce>;
  orphansAtSettle: number;
  orphans: string[];
  missing: string[];
  serverErrors: number;
  unknownStarts: number;
  janitorRemovals: number;
}

async function soak(store: 'redis' | 'memory'): Promise<Outcome> {
  const dir = mkdtempSync(path.join(tmpdir(), 'dm-soak-'));
  const uploadDir = path.join(dir, 'uploads');
  const pdfDir = path.join(dir, 'pdfs');
  const redis = store === 'redis' ? await SoakRedis.start(dir) : null;
  const env: Record<string, string> = {
    UPLOAD_DIR: uploadDir,
    PDF_DIR: pdfDir,
    LOG_LEVEL: 'info',
    SECTION_DELAY_MIN_MS: '50',
    SECTION_DELAY_MAX_MS: '200',
    LEASE_TTL_MS: '5000',
    RECOVERY_INTERVAL_MS: '1000',
    REDIS_COMMAND_TIMEOUT_MS: '1000',
    JANITOR_INTERVAL_MS: String(JANITOR.intervalMs),
    JANITOR_GRACE_MS: String(JANITOR.graceMs),
    // Every simulated client is 127.0.0.1: limits no run can reach.
    RATE_LIMIT_MUTATING_MAX: '1000000000',
    RATE_LIMIT_READ_MAX: '1000000000',
    ...(redis ? { REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'soak:' } : {}),
  };
  const services = await Promise.all((redis ? ['a', 'b'] : ['a']).map((name) => SoakService.start(`${store}-${name}`, env)));
  cleanups.push(async () => {
    await Promise.all(services.map((s) => s.kill()));
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const client = new SoakClient(services, { maxLive: 150, maxUploadsPerWorkflow: 6, maxPausesPerWorkflow: 3 });

  // Load and faults together.
  const began = Date.now();
  const end = began + SECONDS * 1000;
  const at = (fraction: number) => sleep(Math.max(0, began + fraction * SECONDS * 1000 - Date.now()));
  const faults: string[] = [];
  const victim = services[services.length - 1]!;
  // While Redis is frozen, a few DELETEs too: they time out (503), Redis applies them when it wakes, and the
  // client's retry (404) must still remove the files.
  const freeze = async () => {
    redis!.freeze();
    const deletes = Array.from({ length: 3 }, () => client.remove());
    await sleep(FREEZE_MS);
    redis!.thaw();
    await Promise.all(deletes);
  };
  const injecting = (async () => {
    const plan: Array<[number, string, () => Promise<void>]> = redis
      ? [
          [0.2, `Redis frozen ${FREEZE_MS} ms`, freeze],
          [0.45, `${victim.name} SIGKILLed, restarted`, async () => (await victim.kill(), await sleep(2000), await victim.launch())],
          [0.7, `Redis frozen ${FREEZE_MS} ms`, freeze],
        ]
      : [[0.5, `${victim.name} SIGKILLed, restarted (memory state lost)`, async () => (await victim.kill(), await sleep(1000), await victim.launch())]];
    for (const [fraction, what, act] of plan) {
      await at(fraction);
      await act();
      faults.push(what);
    }
  })();
  await Promise.all(Array.from({ length: WORKERS }, () => client.work(end)));
  await injecting;
  for (const s of services) if (!s.up) await s.launch();

  // Settle: resume what is paused or failed until every surviving workflow is completed.
  const settleBy = Date.now() + 180_000;
  let live = new Map<string, Preview>();
  for (;;) {
    live = await readLive(client, new Set([...[...client.known.values()].filter((k) => !k.deleted).map((k) => k.id), ...idsOnDisk(uploadDir, pdfDir)]));
    const waiting = [...live].filter(([, p]) => p.status !== 'completed');
    if (waiting.length === 0 || Date.now() > settleBy) break;
    for (const [id, p] of waiting) if (p.status === 'paused' || p.status === 'error') await client.request('resume', 'POST', `/api/resume/${id}`);
    await sleep(1000);
  }
  const notCompleted = [...live].filter(([, p]) => p.status !== 'completed').map(([id, p]) => `${id}: ${p.status}`);

  // Files: right after settling, and once the janitor had time to run (grace + a few intervals).
  const orphansAtSettle = orphans(uploadDir, pdfDir, live).length;
  const janitorBy = Date.now() + JANITOR.graceMs + 4 * JANITOR.intervalMs + 10_000;
  let left = orphans(uploadDir, pdfDir, live);
  while (left.length > 0 && Date.now() < janitorBy) {
    await sleep(1000);
    left = orphans(uploadDir, pdfDir, live);
  }

  const outcome: Outcome = {
    store,
    operations: client.tally.total(),
    perOperation: client.tally.lines(),
    faults,
    started: client.known.size,
    deleted: [...client.known.values()].filter((k) => k.deleted).length,
    survivors: live.size,
    notCompleted,
    sections: sectionsNotOnce(live),
    orphansAtSettle,
    orphans: left,
    missing: missingFiles(uploadDir, live),
    serverErrors: client.tally.count('500'),
    unknownStarts: client.unknownStarts,
    janitorRemovals: services.reduce((n, s) => n + s.output.split('\n').filter((l) => l.includes('janitor: removed')).length, 0),
  };
  await Promise.all(services.map((s) => s.stop()));
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
  cleanups.pop();
  return outcome;
}

let failed = false;
for (const store of STORES) {
  console.log(`soak: ${store} store, ${SECONDS} s of load with ${WORKERS} workers …`);
  const o = await soak(store);
  const problems = [
    o.serverErrors > 0 && `${o.serverErrors} answers were 500`,
    o.notCompleted.length > 0 && `${o.notCompleted.length} surviving workflows not completed: ${o.notCompleted.slice(0, 5).join('; ')}`,
    o.sections.bad.length > 0 && `sections not written exactly once: ${o.sections.bad.slice(0, 5).join('; ')}`,
    o.orphans.length > 0 && `${o.orphans.length} orphaned files: ${o.orphans.slice(0, 5).join(', ')}`,
    o.missing.length > 0 && `${o.missing.length} recorded exhibits without a file: ${o.missing.slice(0, 5).join(', ')}`,
  ].filter((p): p is string => typeof p === 'string');
  failed ||= problems.length > 0;
  console.log(
    [
      `soak (${o.store}): ${problems.length === 0 ? 'PASS' : 'FAIL'}`,
      `  operations: ${o.operations}`,
      ...o.perOperation,
      `  faults injected: ${o.faults.length} (${o.faults.join('; ')})`,
      `  workflows: ${o.started} started, ${o.deleted} deleted, ${o.survivors} surviving, ${o.survivors - o.notCompleted.length} completed` +
        (o.unknownStarts ? `, ${o.unknownStarts} starts with no answer` : ''),
      `  sections written once: ${o.sections.judged} workflows checked by their log, ${o.sections.bad.length} sections wrong` +
        (o.sections.truncated ? `, ${o.sections.truncated} with logs longer than the preview shows` : ''),
      `  orphans: ${o.orphansAtSettle} when the load stopped, ${o.orphans.length} after the janitor (${o.janitorRemovals} janitor runs removed something); recorded exhibits without a file: ${o.missing.length}`,
      `  500 answers: ${o.serverErrors}`,
      ...problems.map((p) => `  problem: ${p}`),
    ].join('\n'),
  );
}
process.exit(failed ? 1 : 0);
