import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { AppError } from '../errors.js';
import { ContentSniffer } from './content-detection.js';

/** A file that arrived completely and was accepted; it still has its temporary name. */
export interface ReceivedFile {
  tmpPath: string;
  size: number;
  mimeType: string;
}

export const fileTooLarge = (maxBytes: number, headers?: Record<string, string>) =>
  new AppError(`File is larger than the upload limit of ${maxBytes} bytes`, { status: 413, code: 'FILE_TOO_LARGE', headers });

/**
 * Streams `source` into a new file at `tmpPath` (created exclusively), identifying the content on the way.
 * Memory stays bounded: chunks are written as they come, with back-pressure, and only the sniffing window
 * is kept. On any failure — refused content, over `maxBytes`, the source erroring because the client went
 * away, a disk error — writing stops, the rest of the source is drained (so the multipart parser can finish
 * the request) and the temporary file is removed before the promise rejects. Nothing partial survives.
 */
export function receiveFile(source: Readable, tmpPath: string, maxBytes: number): Promise<ReceivedFile> {
  return new Promise((resolve, reject) => {
    const sniffer = new ContentSniffer();
    const out = createWriteStream(tmpPath, { flags: 'wx' });
    let size = 0;
    let failed = false;
    let queued = 0;
    // Chunks are handled one after another even though sniffing is asynchronous.
    let chain: Promise<void> = Promise.resolve();

    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      source.off('data', onData);
      source.resume();
      // Remove the file only once the stream has closed it: an unlink racing the open would leave it behind.
      const cleanUp = () => {
        rm(tmpPath, { force: true }).then(
          () => reject(err),
          () => reject(err),
        );
      };
      if (out.closed) cleanUp();
      else {
        out.once('close', cleanUp);
        out.destroy();
      }
    };

    const write = (chunk: Buffer) =>
      new Promise<void>((done, error) => {
        out.write(chunk, (err) => (err ? error(err) : done()));
      });

    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) return fail(fileTooLarge(maxBytes));
      queued += 1;
      source.pause();
      chain = chain
        .then(async () => {
          if (failed) return;
          await sniffer.push(chunk);
          await write(chunk);
          queued -= 1;
          if (queued === 0 && !failed) source.resume();
        })
        .catch(fail);
    };

    source.on('data', onData);
    source.once('error', fail);
    // busboy stops a file at the size limit; multer answers 413, this only makes sure nothing stays.
    source.once('limit', () => fail(fileTooLarge(maxBytes)));
    source.once('close', () => {
      if (!source.readableEnded) fail(new Error('Upload stream closed before its end'));
    });
    source.once('end', () => {
      chain = chain
        .then(async () => {
          if (failed) return;
          if ((source as Readable & { truncated?: boolean }).truncated) throw fileTooLarge(maxBytes);
          const mimeType = await sniffer.finish();
          // Resolve once the descriptor is closed, so the file can be renamed and read at once.
          await new Promise<void>((done) => {
            out.once('close', done);
            out.end();
          });
          if (!failed) resolve({ tmpPath, size, mimeType });
        })
        .catch(fail);
    });
    out.on('error', fail);
    // The parser may have destroyed the stream (client gone, broken body) before this function was called.
    if (source.destroyed && !source.readableEnded) fail(source.errored ?? new Error('Upload stream closed before its end'));
  });
}
