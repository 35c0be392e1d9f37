import { ApiError, eventsUrl, fetchPreview, unauthorizedIf } from './api.js';
import { authHeaders } from './auth.js';
import { readEventStream, StreamRefused } from './sse.js';

const POLL_MS = 2000;
const EVENT_TYPES = new Set(['section', 'exhibit', 'log', 'metadata', 'status']);

/**
 * Keeps one document's state current: the server's event stream when it works, polling of the preview
 * every 2 s while it does not. The stream is read with fetch (so it carries the bearer token) and the
 * SSE parser in sse.js; when it drops, the page polls and reconnects after the server's `retry:` hint,
 * sending Last-Event-ID so the server replays what was missed. Polling stops as soon as the stream is back.
 *
 * Callbacks: onSnapshot(preview), onEvent(type, data), onMode(mode), onGone(error), onEnd(reason).
 * Modes: 'connecting' | 'live' | 'polling' | 'offline' | 'ended'.
 */
export class LiveDocument {
  constructor(threadId, callbacks) {
    this.threadId = threadId;
    this.cb = callbacks;
    this.controller = null;
    this.streamOpen = false;
    this.lastEventId = '';
    this.retryMs = POLL_MS;
    this.pollTimer = null;
    this.retryTimer = null;
    this.stopped = false;
    this.mode = 'idle';
  }

  start() {
    this.setMode('connecting');
    void this.openStream();
  }

  setMode(mode) {
    this.mode = mode;
    this.cb.onMode(mode);
  }

  /**
   * Reads the preview once. The stream ends when a document completes, yet an exhibit can still be added
   * afterwards: the page calls this after its own changes whenever no live stream will report them.
   */
  async refreshUnlessLive() {
    if (this.mode === 'live') return;
    try {
      this.cb.onSnapshot(await fetchPreview(this.threadId));
    } catch {
      // The next poll (or nothing, for a finished document) will tell.
    }
  }

  stop() {
    this.stopped = true;
    this.streamOpen = false;
    this.controller?.abort();
    this.controller = null;
    clearTimeout(this.pollTimer);
    clearTimeout(this.retryTimer);
  }

  async openStream() {
    if (this.stopped) return;
    const controller = new AbortController();
    this.controller = controller;
    const headers = { ...authHeaders(), ...(this.lastEventId ? { 'Last-Event-ID': this.lastEventId } : {}) };
    try {
      await readEventStream(eventsUrl(this.threadId), {
        headers,
        signal: controller.signal,
        onOpen: () => {
          this.streamOpen = true;
          this.stopPolling();
          this.setMode('live');
        },
        onRetry: (ms) => {
          this.retryMs = ms;
        },
        onEvent: (event) => this.handle(event),
      });
    } catch (err) {
      if (this.stopped || controller.signal.aborted) return;
      if (err instanceof StreamRefused && err.status === 401) {
        this.stop();
        unauthorizedIf(new ApiError(err.message, { status: 401, code: err.code }));
        return;
      }
      if (err instanceof StreamRefused && err.status === 404) {
        this.stop();
        this.cb.onGone(err);
        return;
      }
    }
    // The stream dropped (or the server closed it without saying it ended): poll meanwhile, then reconnect.
    this.streamOpen = false;
    if (this.stopped || this.controller !== controller) return;
    this.startPolling();
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.openStream(), this.retryMs);
  }

  handle({ type, data, id }) {
    if (this.stopped) return;
    if (id) this.lastEventId = id;
    let parsed;
    try {
      parsed = JSON.parse(data);
    } catch {
      return;
    }
    if (type === 'snapshot') this.cb.onSnapshot(parsed);
    else if (type === 'end') this.finish(parsed.reason);
    else if (EVENT_TYPES.has(type)) this.cb.onEvent(type, parsed);
  }

  finish(reason) {
    this.stop();
    this.setMode('ended');
    this.cb.onEnd(reason);
  }

  startPolling() {
    if (this.pollTimer !== null || this.stopped) return;
    this.setMode('polling');
    const tick = async () => {
      try {
        const preview = await fetchPreview(this.threadId);
        if (this.stopped || this.pollTimer === null) return;
        this.setMode(this.streamOpen ? 'live' : 'polling');
        this.cb.onSnapshot(preview);
        if (preview.status === 'completed' || preview.status === 'error') {
          this.finish(preview.status);
          return;
        }
      } catch (err) {
        if (this.stopped || this.pollTimer === null) return;
        if (err.status === 401) {
          this.stop();
          return;
        }
        if (err.status === 404) {
          this.stop();
          this.cb.onGone(err);
          return;
        }
        this.setMode('offline');
      }
      if (this.pollTimer !== null && !this.stopped) this.pollTimer = setTimeout(tick, POLL_MS);
    };
    this.pollTimer = setTimeout(tick, 0);
  }

  stopPolling() {
    clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }
}
