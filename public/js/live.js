import { eventsUrl, fetchPreview } from './api.js';

const POLL_MS = 2000;
const EVENT_TYPES = ['section', 'exhibit', 'log', 'metadata', 'status'];

/**
 * Keeps one document's state current: server-sent events when the stream works, polling of the preview
 * every 2 s while it does not. The EventSource reconnects by itself (sending Last-Event-ID, so the server
 * replays what was missed); polling fills the gap meanwhile and stops as soon as the stream is back.
 *
 * Callbacks: onSnapshot(preview), onEvent(type, data), onMode(mode), onGone(error), onEnd(reason).
 * Modes: 'connecting' | 'live' | 'polling' | 'offline' | 'ended'.
 */
export class LiveDocument {
  constructor(threadId, callbacks) {
    this.threadId = threadId;
    this.cb = callbacks;
    this.source = null;
    this.pollTimer = null;
    this.retryTimer = null;
    this.stopped = false;
    this.mode = 'idle';
  }

  start() {
    this.setMode('connecting');
    this.openStream();
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
    this.source?.close();
    this.source = null;
    clearTimeout(this.pollTimer);
    clearTimeout(this.retryTimer);
  }

  openStream() {
    if (this.stopped) return;
    if (typeof EventSource !== 'function') {
      this.startPolling();
      return;
    }
    const source = new EventSource(eventsUrl(this.threadId));
    this.source = source;
    source.addEventListener('open', () => {
      this.stopPolling();
      this.setMode('live');
    });
    source.addEventListener('snapshot', (e) => this.cb.onSnapshot(JSON.parse(e.data)));
    for (const type of EVENT_TYPES) source.addEventListener(type, (e) => this.cb.onEvent(type, JSON.parse(e.data)));
    source.addEventListener('end', (e) => {
      // Without close() the browser would reconnect to a stream that has nothing more to say.
      source.close();
      this.finish(JSON.parse(e.data).reason);
    });
    source.addEventListener('error', () => {
      if (this.stopped || this.source !== source) return;
      this.startPolling();
      // A CLOSED source (an HTTP error such as 404 or 503) is not retried by the browser: retry later ourselves.
      if (source.readyState === EventSource.CLOSED) {
        this.source = null;
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.openStream(), 5000);
      }
    });
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
        this.setMode(this.source?.readyState === EventSource.OPEN ? 'live' : 'polling');
        this.cb.onSnapshot(preview);
        if (preview.status === 'completed' || preview.status === 'error') {
          this.finish(preview.status);
          return;
        }
      } catch (err) {
        if (this.stopped || this.pollTimer === null) return;
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
