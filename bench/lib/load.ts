import autocannon from 'autocannon';
import { Samples } from './stats.js';

export interface LoadTarget {
  name: string;
  url: string;
  headers?: Record<string, string>;
  /** Every response must have this status; anything else is counted as a failure. */
  expectStatus: number;
  /** CPU milliseconds the server process has used so far; gives CPU per request, which noise hurts less. */
  cpuMs?: () => Promise<number>;
}

export interface LoadResult {
  name: string;
  requests: number;
  seconds: number;
  rps: number;
  /** Milliseconds, exact over every response (autocannon's own histogram rounds to whole ms). */
  p50: number;
  p99: number;
  /** Responses with another status than expected, plus socket errors and timeouts. */
  failures: number;
  statuses: Record<string, number>;
  /** Server CPU microseconds per request, when the target reports its CPU time. */
  cpuUsPerRequest: number;
}

async function once(target: LoadTarget, seconds: number, connections: number, latencies: Samples | null, rate?: number) {
  // Without a callback autocannon returns an EventEmitter that is also a promise of the result.
  const instance = autocannon({
    url: target.url,
    connections,
    duration: seconds,
    ...(rate ? { overallRate: rate } : {}),
    headers: target.headers ?? {},
    timeout: 10,
  }) as unknown as Promise<autocannon.Result> & NodeJS.EventEmitter;
  let unexpected = 0;
  const statuses: Record<string, number> = {};
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status !== target.expectStatus) unexpected++;
    latencies?.add(ms);
  });
  const result = await instance;
  return {
    requests: result.requests.total,
    seconds: result.duration,
    failures: unexpected + result.errors + result.timeouts,
    statuses,
  };
}

/**
 * Runs every target for `rounds` × `seconds`, alternating between them so that a noisy neighbour hurts
 * each side alike, after a warm-up of `warmupSeconds` each. Requests/s is total requests over total
 * time; p50/p99 are over every response of every round.
 */
export async function compare(
  targets: LoadTarget[],
  { rounds, seconds, warmupSeconds, connections }: { rounds: number; seconds: number; warmupSeconds: number; connections: number },
): Promise<LoadResult[]> {
  for (const t of targets) if (warmupSeconds > 0) await once(t, warmupSeconds, connections, null);
  const acc = targets.map((t) => ({ t, requests: 0, seconds: 0, failures: 0, cpuMs: 0, lat: new Samples(), statuses: {} as Record<string, number> }));
  for (let r = 0; r < rounds; r++) {
    for (const a of r % 2 === 0 ? acc : [...acc].reverse()) {
      const cpuBefore = (await a.t.cpuMs?.()) ?? 0;
      const res = await once(a.t, seconds, connections, a.lat);
      a.cpuMs += ((await a.t.cpuMs?.()) ?? 0) - cpuBefore;
      a.requests += res.requests;
      a.seconds += res.seconds;
      a.failures += res.failures;
      for (const [k, v] of Object.entries(res.statuses)) a.statuses[k] = (a.statuses[k] ?? 0) + v;
    }
  }
  return acc.map((a) => ({
    name: a.t.name,
    requests: a.requests,
    seconds: a.seconds,
    rps: a.requests / a.seconds,
    p50: a.lat.percentile(50),
    p99: a.lat.percentile(99),
    failures: a.failures,
    statuses: a.statuses,
    cpuUsPerRequest: a.t.cpuMs ? (a.cpuMs * 1000) / a.requests : Number.NaN,
  }));
}

/**
 * `target` at a steady `rate` requests/s (not as fast as it answers) for `seconds`, the latency of each
 * response added to `latencies`: what users polling on a timer see. Answers requests, failures and the
 * server's CPU microseconds per request.
 */
export async function steady(
  target: LoadTarget,
  { seconds, connections, rate }: { seconds: number; connections: number; rate: number },
  latencies: Samples,
): Promise<{ requests: number; failures: number; cpuUsPerRequest: number }> {
  const cpuBefore = (await target.cpuMs?.()) ?? 0;
  const res = await once(target, seconds, connections, latencies, rate);
  const cpuMs = ((await target.cpuMs?.()) ?? 0) - cpuBefore;
  return { requests: res.requests, failures: res.failures, cpuUsPerRequest: target.cpuMs ? (cpuMs * 1000) / res.requests : Number.NaN };
}
