import { Router } from 'express';
import type { AppDeps } from '../../app-deps.js';
import { threadNotFound } from '../../errors.js';
import { parseEventId, type EventSink } from '../../events/sse.js';
import { isThreadId } from '../../workflow/service.js';

/** How long a browser waits before reconnecting a dropped stream (the SSE `retry:` hint). */
export const SSE_RETRY_MS = 2000;

/**
 * `GET /api/document/events/:thread_id`: the live stream of one workflow (see `EventHub` for the events).
 * An unknown thread gets the usual 404 JSON before any stream starts.
 */
export function eventRoutes({ store, events }: AppDeps): Router {
  const router = Router();

  router.get('/api/document/events/:thread_id', async (req, res) => {
    const id = req.params.thread_id;
    // Listen first: a client that hangs up during the existence check must not leave a listener behind.
    let gone = false;
    let detach: (() => void) | null = null;
    res.on('close', () => {
      gone = true;
      detach?.();
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
  });

  return router;
}
