import type { IncomingMessage } from 'node:http';

/** How long a refused body is read at most before the connection is closed. */
export const DRAIN_MAX_MS = 10_000;
/** Bytes of a refused upload read at most, whatever its limit, so clients of small limits still see the answer. */
const DRAIN_FLOOR_BYTES = 64 * 1024 * 1024;

export const drainBytesFor = (maxUploadBytes: number) => Math.max(2 * maxUploadBytes, DRAIN_FLOOR_BYTES);

/**
 * Reads and discards the rest of a request body that was refused (the answer is sent meanwhile, without
 * `Connection: close`), up to `maxBytes` or `maxMs`, then closes the connection. A client that sends the
 * whole body before reading the answer — Node's `fetch` with `FormData`, browsers — sees the answer instead
 * of a connection reset (`EPIPE`); one that sends far more, or stalls, costs at most the bound.
 */
export function drainRefusedBody(req: IncomingMessage, { maxBytes, maxMs = DRAIN_MAX_MS }: { maxBytes: number; maxMs?: number }): void {
  if (req.complete || req.destroyed) return;
  let seen = 0;
  const finish = () => {
    clearTimeout(timer);
    req.off('data', onData);
    req.off('readable', onReadable);
    req.off('end', finish);
    req.off('close', finish);
  };
  const cut = () => {
    finish();
    req.socket.destroy();
  };
  const onData = (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > maxBytes) cut();
  };
  // Read in paused mode ('readable'), as any other reader of the request may (multer drains that way):
  // 'data' fires for every chunk read, whoever reads it.
  const onReadable = () => {
    while (req.read() !== null);
  };
  const timer = setTimeout(cut, maxMs);
  timer.unref();
  req.on('data', onData);
  req.on('readable', onReadable);
  req.once('end', finish);
  req.once('close', finish);
  // The multipart parser has nothing more to do with a refused body: stop feeding it.
  req.unpipe();
}
