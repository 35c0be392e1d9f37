import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';

export interface SseEvent {
  id?: string;
  event: string;
  data: any;
}

export interface SseStream {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Every event received so far, in order. */
  events: SseEvent[];
  /** Raw text received so far (comments included). */
  raw(): string;
  /** Resolves with the first event (from index `from`) that matches. */
  waitFor(match: (e: SseEvent) => boolean, from?: number, timeoutMs?: number): Promise<SseEvent>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  /** Drops the connection from the client side. */
  close(): void;
}

export interface Listening {
  port: number;
  server: http.Server;
  close(): Promise<void>;
}

/** Serves the app on an ephemeral port: SSE needs a real socket that stays open. */
export async function listen(app: Express): Promise<Listening> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Parses the SSE wire format (enough of it for the frames the server writes) from a response. */
export function openStream(port: number, threadId: string, headers: Record<string, string> = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: `/api/document/events/${threadId}`, headers, agent: false });
    req.once('error', reject);
    req.once('response', (res) => {
      res.setEncoding('utf8');
      const events: SseEvent[] = [];
      const waiters = new Set<() => void>();
      let text = '';
      let pending = '';
      res.on('data', (chunk: string) => {
        text += chunk;
        pending += chunk;
        let cut: number;
        while ((cut = pending.indexOf('\n\n')) >= 0) {
          const block = pending.slice(0, cut);
          pending = pending.slice(cut + 2);
          const event: SseEvent = { event: 'message', data: undefined };
          let data: string | undefined;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const [field, ...rest] = line.split(': ');
            const value = rest.join(': ');
            if (field === 'id') event.id = value;
            else if (field === 'event') event.event = value;
            else if (field === 'data') data = value;
          }
          if (data !== undefined) {
            event.data = JSON.parse(data);
            events.push(event);
          }
        }
        for (const wake of [...waiters]) wake();
      });
      const ended = new Promise<void>((done) => res.once('close', () => done()));
      let isEnded = false;
      void ended.then(() => {
        isEnded = true;
        for (const wake of [...waiters]) wake();
      });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        events,
        raw: () => text,
        ended,
        close: () => req.destroy(),
        waitFor(match, from = 0, timeoutMs = 10_000) {
          return new Promise((found, fail) => {
            const check = () => {
              const hit = events.slice(from).find(match);
              if (hit) {
                cleanup();
                found(hit);
              } else if (isEnded) {
                cleanup();
                fail(new Error(`stream ended without the expected event; got ${events.map((e) => e.event).join(',')}`));
              }
            };
            const timer = setTimeout(() => {
              cleanup();
              fail(new Error(`timed out; got ${events.map((e) => e.event).join(',')}`));
            }, timeoutMs);
            const cleanup = () => {
              clearTimeout(timer);
              waiters.delete(check);
            };
            waiters.add(check);
            check();
          });
        },
      });
    });
  });
}

/** Orders event ids as the server defines them: (version, n), a bare version being n = 0. */
export function idKey(id: string | undefined): [number, number] {
  const [v, n] = (id ?? '').split('-');
  return [Number(v), n === undefined ? 0 : Number(n)];
}

export function isIncreasing(ids: Array<string | undefined>): boolean {
  for (let i = 1; i < ids.length; i++) {
    const [a, b] = [idKey(ids[i - 1]), idKey(ids[i])];
    if (!(b[0] > a[0] || (b[0] === a[0] && b[1] > a[1]))) return false;
  }
  return true;
}
