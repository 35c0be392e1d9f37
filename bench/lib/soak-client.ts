import { randomUUID } from 'node:crypto';
import type { SoakService } from './soak-services.js';

export interface Answer {
  status: number;
  body: any;
}

/** What the soak did and what it was answered, by operation and status (`unreachable`: no connection). */
export class Tally {
  readonly byOperation = new Map<string, Map<string, number>>();

  add(operation: string, status: number | 'unreachable' | 'timeout'): void {
    const statuses = this.byOperation.get(operation) ?? new Map<string, number>();
    statuses.set(String(status), (statuses.get(String(status)) ?? 0) + 1);
    this.byOperation.set(operation, statuses);
  }

  total(): number {
    let n = 0;
    for (const statuses of this.byOperation.values()) for (const v of statuses.values()) n += v;
    return n;
  }

  count(status: string): number {
    let n = 0;
    for (const statuses of this.byOperation.values()) n += statuses.get(status) ?? 0;
    return n;
  }

  lines(): string[] {
    return [...this.byOperation].map(
      ([op, statuses]) => `  ${op.padEnd(9)} ${[...statuses].sort().map(([s, n]) => `${s}: ${n}`).join(', ')}`,
    );
  }
}

/** A workflow the soak started, as far as the answers it got tell. */
export interface Known {
  id: string;
  deleted: boolean;
  uploads: number;
  pauses: number;
}

const PDF_HEAD = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n');
const PDF_TAIL = Buffer.from('\ntrailer << /Root 1 0 R >>\n%%EOF\n');
const pdfOf = (size: number) => Buffer.concat([PDF_HEAD, Buffer.alloc(Math.max(0, size - 80), 0x25), PDF_TAIL]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(Math.random() * items.length)];

/** The random client: workers pick operations against whichever service process is up. */
export class SoakClient {
  readonly tally = new Tally();
  readonly known = new Map<string, Known>();
  /** Starts whose outcome stayed unknown (every retry failed): such a workflow may exist without being known. */
  unknownStarts = 0;

  constructor(
    private readonly services: SoakService[],
    /** `maxLive`: workflows not deleted at once; past it, a start deletes one instead. */
    private readonly limits: { maxLive: number; maxUploadsPerWorkflow: number; maxPausesPerWorkflow: number },
  ) {}

  /** One request to a random live process; a refused connection is retried on another. */
  async request(operation: string, method: string, route: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer | null> {
    for (let attempt = 0; attempt < 4; attempt++) {
      const service = pick(this.services.filter((s) => s.up)) ?? this.services[0]!;
      try {
        const isForm = body instanceof FormData;
        const res = await fetch(`${service.url}${route}`, {
          method,
          headers: body === undefined || isForm ? headers : { 'content-type': 'application/json', ...headers },
          body: body === undefined ? undefined : isForm ? body : JSON.stringify(body),
          signal: AbortSignal.timeout(15_000),
        });
        const text = await res.text();
        this.tally.add(operation, res.status);
        let parsed: unknown = null;
        try {
          parsed = text ? JSON.parse(text) : null;
        } catch {
          parsed = text;
        }
        return { status: res.status, body: parsed };
      } catch (err) {
        const timedOut = (err as Error).name === 'TimeoutError';
        this.tally.add(operation, timedOut ? 'timeout' : 'unreachable');
        if (timedOut) return null;
        await sleep(200);
      }
    }
    return null;
  }

  private live(): Known[] {
    return [...this.known.values()].filter((k) => !k.deleted);
  }

  async start(): Promise<void> {
    if (this.live().length >= this.limits.maxLive) return this.remove();
    const key = randomUUID();
    const body = { case_id: `soak-${this.known.size}`, user_id: 'soak', document_type: pick(['memo', 'letter', 'petition'] as const) };
    // A careful client: the same Idempotency-Key until an answer says what happened.
    for (let attempt = 0; attempt < 30; attempt++) {
      const res = await this.request('start', 'POST', '/api/generate-petition', body, { 'Idempotency-Key': key });
      if (res?.status === 200) {
        const id = res.body.thread_id as string;
        if (!this.known.has(id)) this.known.set(id, { id, deleted: false, uploads: 0, pauses: 0 });
        return;
      }
      if (res && res.status < 500 && res.status !== 409) return;
      await sleep(500);
    }
    this.unknownStarts += 1;
  }

  async upload(): Promise<void> {
    const target = pick(this.live().filter((k) => k.uploads < this.limits.maxUploadsPerWorkflow));
    if (!target) return this.start();
    target.uploads += 1;
    const form = new FormData();
    form.set('exhibit_id', `x${Math.floor(Math.random() * 3)}`);
    const size = 2_000 + Math.floor(Math.random() * 200_000);
    form.set('file', new Blob([pdfOf(size)], { type: 'application/pdf' }), `exhibit ${Math.floor(Math.random() * 4)}.pdf`);
    await this.request('upload', 'POST', `/api/upload-exhibit/${target.id}`, form);
  }

  async pause(): Promise<void> {
    const target = pick(this.live().filter((k) => k.pauses < this.limits.maxPausesPerWorkflow));
    if (!target) return;
    target.pauses += 1;
    await this.request('pause', 'POST', `/api/pause/${target.id}`);
  }

  async resume(): Promise<void> {
    const target = pick(this.live());
    if (target) await this.request('resume', 'POST', `/api/resume/${target.id}`);
  }

  async preview(): Promise<void> {
    const target = pick(this.live());
    if (target) await this.request('preview', 'GET', `/api/document/preview/${target.id}`);
  }

  async pdf(): Promise<void> {
    const target = pick(this.live());
    if (target) await this.request('pdf', 'GET', `/api/download-petition-pdf/${target.id}`);
  }

  /** DELETE, retried on 503 and lost connections until 204 or 404 says the workflow is gone. */
  async remove(id = pick(this.live())?.id): Promise<void> {
    if (!id) return;
    const known = this.known.get(id)!;
    for (let attempt = 0; attempt < 60; attempt++) {
      const res = await this.request('delete', 'DELETE', `/api/document/${id}`);
      if (res?.status === 204 || res?.status === 404) {
        known.deleted = true;
        return;
      }
      await sleep(500);
    }
  }

  /** Runs random operations until `until` (epoch ms). */
  async work(until: number): Promise<void> {
    const operations: Array<[number, () => Promise<void>]> = [
      [14, () => this.start()],
      [26, () => this.upload()],
      [12, () => this.pause()],
      [12, () => this.resume()],
      [8, () => this.remove()],
      [20, () => this.preview()],
      [8, () => this.pdf()],
    ];
    const total = operations.reduce((sum, [w]) => sum + w, 0);
    while (Date.now() < until) {
      let r = Math.random() * total;
      const [, op] = operations.find(([w]) => (r -= w) < 0) ?? operations[0]!;
      await op();
    }
  }
}
