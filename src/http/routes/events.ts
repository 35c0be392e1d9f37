import { Router, type Request, type Response } from 'express';
import type { AppDeps } from '../../app-deps.js';
import { AppError, threadNotFound } from '../../errors.js';
import { frame, parseEventId, type EventSink } from '../../events/sse.js';
import { isThreadId } from '../../domain/ids.js';
import { tokenExpiresAt, userOf } from '../middleware/auth.js';

/** How long a browser waits before reconnecting a dropped stream (the SSE `retry:` hint). */
export const SSE_RETRY_MS = 2000;

/** The longest delay a Node timer takes; a token valid for longer is checked again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Who a stream counts against: the user with authentication on, the client's address without. */
const clientOf = (req: Request, res: Response) => userOf(res) ?? `ip:${req.ip ?? 'unknown'}`;

/**
 * `GET /api/document/events/:thread_id`: the live stream of one workflow (see `EventHub` for the events).
 * An unknown thread gets the usual 404 JSON before any stream starts. A client (user, or address with
 * authentication off) holds at most `SSE_MAX_PER_CLIENT` open streams in this process (429
 * `TOO_MANY_STREAMS` beyond), and a stream opened with a token ends when the token expires (an `expired`
 * event, then the end): a reconnecting client must present a valid one.
 */
export function eventRoutes({ store, events, config }: AppDeps): Router {
  const router = Router();
  const open = new Map<string, number>();
  const skewMs = config.authClockSkewSeconds * 1000;

  router.get('/api/document/events/:thread_id', async (req, res) => {
    const id = req.params.thread_id;
    const client = clientOf(req, res);
    if ((open.get(client) ?? 0) >= config.server.sseMaxPerClient) {
      throw new AppError(`Too many open event streams (at most ${config.server.sseMaxPerClient} per client)`, {
        code: 'TOO_MANY_STREAMS',
        headers: { 'Retry-After': String(Math.ceil(SSE_RETRY_MS / 1000)) },
      });
    }
    open.set(client, (open.get(client) ?? 0) + 1);
    // Listen first: a client that hangs up during the existence check must not leave a listener behind.
    let gone = false;
    let detach: (() => void) | null = null;
    let expiry: NodeJS.Timeout | undefined;
    res.on('close', () => {
      gone = true;
      detach?.();
      clearTimeout(expiry);
      const left = (open.get(client) ?? 1) - 1;
      if (left > 0) open.set(client, left);
      else open.delete(client);
    });
    if (!isThreadId(id) || !(await store.getHead(id))) throw threadNotFound(id);
    if (gone) return;

    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      // nginx and similar proxies would otherwise hold events back in their buffers.
      'X-Accel-Buffering': 'no',
      Connection: 'keep-alive',
    });
    res.flushHeaders();
    req.socket.setNoDelay(true);
    res.write(`retry: ${SSE_RETRY_MS}\n\n`);

    const sink: EventSink = {
      write: (chunk) => res.write(chunk),
      bufferedBytes: () => res.writableLength,
      end: () => res.end(),
    };
    detach = events.attach(id, sink, parseEventId(req.get('last-event-id')));

    // The token is accepted up to AUTH_CLOCK_SKEW_SECONDS past its `exp`: the stream lasts as long.
    const expiresAt = tokenExpiresAt(res);
    if (expiresAt !== undefined) {
      const endAtExpiry = () => {
        const left = expiresAt + skewMs - Date.now();
        if (left > 0) {
          expiry = setTimeout(endAtExpiry, Math.min(left, MAX_TIMER_MS));
          return;
        }
        res.write(frame('expired', { detail: 'The token that opened this stream has expired' }));
        res.end();
      };
      endAtExpiry();
    }
  });

  return router;
}
