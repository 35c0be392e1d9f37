import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** What the sidecar of a cached PDF records: which content it was rendered from, and which file it is. */
interface Stamp {
  fingerprint: string;
  ino: number;
  size: number;
  mtimeMs: number;
}

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException)?.code === 'ENOENT';

/**
 * PDFs on disk at `dir/{thread_id}.pdf`, each with a sidecar `{thread_id}.pdf.stamp.json` naming the
 * content fingerprint it was rendered from and the file (inode, size, mtime) it describes.
 *
 * A cached file counts only when its sidecar carries the caller's current fingerprint AND describes the
 * very file at the path. The two are renamed into place separately, so in any interleaving of renders (in
 * this process or in others sharing the folder) a mismatched pair only ever causes one more render, never
 * a stale PDF served as current: a render that started before an exhibit arrived stamps the old
 * fingerprint, which the next download no longer accepts.
 */
export class PdfCache {
  private readonly flights = new Map<string, Promise<string>>();

  constructor(readonly dir: string) {}

  pathOf(threadId: string): string {
    return path.join(this.dir, `${threadId}.pdf`);
  }

  private stampPathOf(threadId: string): string {
    return `${this.pathOf(threadId)}.stamp.json`;
  }

  /**
   * The path of the cached PDF rendered from `fingerprint`, calling `render` only when there is none.
   * Concurrent calls for the same thread and fingerprint share one check and one render (single flight).
   */
  ensure(threadId: string, fingerprint: string, render: () => Promise<Buffer>): Promise<string> {
    const key = `${threadId}\0${fingerprint}`;
    let flight = this.flights.get(key);
    if (!flight) {
      flight = (async () => {
        if (await this.isCurrent(threadId, fingerprint)) return this.pathOf(threadId);
        return this.write(threadId, fingerprint, await render());
      })().finally(() => this.flights.delete(key));
      this.flights.set(key, flight);
    }
    return flight;
  }

  async isCurrent(threadId: string, fingerprint: string): Promise<boolean> {
    try {
      const [info, raw] = await Promise.all([stat(this.pathOf(threadId)), readFile(this.stampPathOf(threadId), 'utf8')]);
      const stamp = JSON.parse(raw) as Partial<Stamp>;
      return (
        stamp.fingerprint === fingerprint && stamp.ino === info.ino && stamp.size === info.size && stamp.mtimeMs === info.mtimeMs
      );
    } catch (err) {
      if (isMissing(err) || err instanceof SyntaxError) return false;
      throw err;
    }
  }

  /** Writes under temporary names and renames into place: readers never see a partial file. */
  private async write(threadId: string, fingerprint: string, bytes: Buffer): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const target = this.pathOf(threadId);
    const suffix = `.${process.pid}.${randomUUID()}.tmp`;
    const tmpPdf = `${target}${suffix}`;
    const tmpStamp = `${this.stampPathOf(threadId)}${suffix}`;
    try {
      await writeFile(tmpPdf, bytes);
      const info = await stat(tmpPdf);
      const stamp: Stamp = { fingerprint, ino: info.ino, size: info.size, mtimeMs: info.mtimeMs };
      await writeFile(tmpStamp, JSON.stringify(stamp));
      // rename keeps the inode and mtime, so the stamp still describes the file once it is in place.
      await rename(tmpPdf, target);
      await rename(tmpStamp, this.stampPathOf(threadId));
      return target;
    } finally {
      await Promise.all([rm(tmpPdf, { force: true }), rm(tmpStamp, { force: true })]);
    }
  }

  /** Deletes the cached PDF and its stamp; nothing to delete is fine. */
  async remove(threadId: string): Promise<void> {
    await Promise.all([rm(this.pathOf(threadId), { force: true }), rm(this.stampPathOf(threadId), { force: true })]);
  }
}
