import http from 'node:http';
import { Samples } from './stats.js';

export interface PollerOptions {
  host: string;
  port: number;
  /** Path of frontend i's poll, from the id it currently watches. */
  path: (threadId: string) => string;
  intervalMs: number;
  /** Send the last ETag in If-None-Match, as a browser's HTTP cache does with `Cache-Control: no-cache`. */
  conditional: boolean;
  agent: http.Agent;
  /** Called when a frontend sees its document completed; answers the next id to watch (or null). */
  onCompleted?: (index: number) => Promise<string | null>;
}

interface Frontend {
  index: number;
  threadId: string;
  etag: string | null;
  due: number;
  timer: NodeJS.Timeout | null;
  busy: boolean;
  answered: boolean;
}

const COMPLETED = Buffer.from('"status":"completed"');

/**
 * Simulated frontends in one process: each polls its document every `intervalMs` on a fixed schedule
 * (a late poll does not push the next one back), over a shared pool of keep-alive connections. Latency
 * is measured from the moment the request is issued to the end of the response; how late the client
 * itself issued polls is recorded separately, so a saturated client shows up instead of hiding.
 */
export class Pollers {
  readonly latency = new Samples();
  readonly lateness = new Samples();
  readonly statuses: Record<string, number> = {};
  errors = 0;
  completedPolls = 0;
  /** Frontends that have had at least one answer: their connection was accepted. */
  answered = 0;
  private readonly frontends: Frontend[] = [];
  private stopped = false;
  private inFlight = 0;

  constructor(private readonly options: PollerOptions) {}

  get size(): number {
    return this.frontends.length;
  }

  /** Adds a frontend watching `threadId`; its first poll comes at a random point of the first interval. */
  add(threadId: string): void {
    const f: Frontend = { index: this.frontends.length, threadId, etag: null, due: 0, timer: null, busy: false, answered: false };
    this.frontends.push(f);
    this.schedule(f, Date.now() + Math.random() * this.options.intervalMs);
  }

  resetStats(): void {
    this.latency.reset();
    this.lateness.reset();
    for (const k of Object.keys(this.statuses)) delete this.statuses[k];
    this.errors = 0;
    this.completedPolls = 0;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const f of this.frontends) if (f.timer) clearTimeout(f.timer);
    const deadline = Date.now() + 10_000;
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  private schedule(f: Frontend, due: number): void {
    if (this.stopped) return;
    f.due = due;
    f.timer = setTimeout(() => this.poll(f), Math.max(0, due - Date.now()));
  }

  private poll(f: Frontend): void {
    f.timer = null;
    if (this.stopped) return;
    const sent = performance.now();
    this.lateness.add(Math.max(0, Date.now() - f.due));
    const next = () => this.schedule(f, Math.max(Date.now(), f.due + this.options.intervalMs));
    if (f.busy) {
      // The previous poll has not answered after a whole interval: a browser would not stack requests.
      next();
      return;
    }
    f.busy = true;
    this.inFlight++;
    const headers: Record<string, string> = {};
    if (this.options.conditional && f.etag) headers['if-none-match'] = f.etag;
    const req = http.request(
      { host: this.options.host, port: this.options.port, path: this.options.path(f.threadId), agent: this.options.agent, headers },
      (res) => {
        let head: Buffer | null = null;
        res.on('data', (chunk: Buffer) => {
          head ??= chunk.subarray(0, 200);
        });
        res.on('end', () => {
          this.latency.add(performance.now() - sent);
          const status = res.statusCode ?? 0;
          this.statuses[status] = (this.statuses[status] ?? 0) + 1;
          this.completedPolls++;
          if (!f.answered) {
            f.answered = true;
            this.answered++;
          }
          const etag = res.headers.etag;
          if (typeof etag === 'string') f.etag = etag;
          this.finish(f);
          if (status === 200 && head?.includes(COMPLETED) && this.options.onCompleted) {
            this.options.onCompleted(f.index).then(
              (id) => {
                if (id) {
                  f.threadId = id;
                  f.etag = null;
                }
              },
              () => {
                this.errors++;
              },
            );
          }
          next();
        });
      },
    );
    req.on('error', () => {
      this.errors++;
      if (!f.busy) return;
      this.finish(f);
      next();
    });
    req.end();
  }

  private finish(f: Frontend): void {
    if (!f.busy) return;
    f.busy = false;
    this.inFlight--;
  }
}
