import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PdfCache } from '../../src/pdf/pdf-cache.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempDir = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'dm-pdf-cache-'));
  dirs.push(d);
  return d;
};
const id = () => crypto.randomUUID();

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('the on-disk PDF cache', () => {
  it('renders once for concurrent requests of the same content and then serves the file', async () => {
    const cache = new PdfCache(path.join(tempDir(), 'nested', 'pdfs'));
    const thread = id();
    let renders = 0;
    const render = async () => {
      renders++;
      return Buffer.from('%PDF-one');
    };
    const paths = await Promise.all(Array.from({ length: 20 }, () => cache.ensure(thread, 'fp1', render)));
    expect(new Set(paths)).toEqual(new Set([cache.pathOf(thread)]));
    expect(renders).toBe(1);
    await cache.ensure(thread, 'fp1', render);
    expect(renders).toBe(1);
    expect(readFileSync(cache.pathOf(thread), 'utf8')).toBe('%PDF-one');
  });

  it('re-renders when the fingerprint changes', async () => {
    const cache = new PdfCache(tempDir());
    const thread = id();
    await cache.ensure(thread, 'fp1', async () => Buffer.from('one'));
    await cache.ensure(thread, 'fp2', async () => Buffer.from('two'));
    expect(readFileSync(cache.pathOf(thread), 'utf8')).toBe('two');
    expect(await cache.isCurrent(thread, 'fp1')).toBe(false);
    expect(await cache.isCurrent(thread, 'fp2')).toBe(true);
  });

  it('never serves a stale file as current when an older render finishes last (two processes, one folder)', async () => {
    const dir = tempDir();
    const processA = new PdfCache(dir);
    const processB = new PdfCache(dir);
    const thread = id();
    const slow = deferred<Buffer>();
    // A starts rendering the old content; an exhibit arrives; B renders the new content and finishes first.
    const a = processA.ensure(thread, 'old', () => slow.promise);
    await processB.ensure(thread, 'new', async () => Buffer.from('new content'));
    expect(await processB.isCurrent(thread, 'new')).toBe(true);
    slow.resolve(Buffer.from('old content'));
    await a;
    // A's late rename put old bytes at the path: the current fingerprint no longer matches them.
    expect(readFileSync(processA.pathOf(thread), 'utf8')).toBe('old content');
    expect(await processB.isCurrent(thread, 'new')).toBe(false);
    await processB.ensure(thread, 'new', async () => Buffer.from('new content'));
    expect(readFileSync(processB.pathOf(thread), 'utf8')).toBe('new content');
  });

  it('does not trust a file whose stamp describes another file or cannot be read', async () => {
    const cache = new PdfCache(tempDir());
    const thread = id();
    await cache.ensure(thread, 'fp', async () => Buffer.from('original'));
    writeFileSync(cache.pathOf(thread), 'replaced by someone else');
    expect(await cache.isCurrent(thread, 'fp')).toBe(false);
    await cache.ensure(thread, 'fp', async () => Buffer.from('original'));
    writeFileSync(`${cache.pathOf(thread)}.stamp.json`, '{not json');
    expect(await cache.isCurrent(thread, 'fp')).toBe(false);
  });

  it('leaves nothing behind when a render fails, and tries again on the next request', async () => {
    const dir = tempDir();
    const cache = new PdfCache(dir);
    const thread = id();
    await expect(cache.ensure(thread, 'fp', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await cache.isCurrent(thread, 'fp')).toBe(false);
    await cache.ensure(thread, 'fp', async () => Buffer.from('ok'));
    expect(readdirSync(dir).sort()).toEqual([`${thread}.pdf`, `${thread}.pdf.stamp.json`]);
  });

  it('removes the file and its stamp, and tolerates removing nothing', async () => {
    const dir = tempDir();
    const cache = new PdfCache(dir);
    const thread = id();
    await cache.ensure(thread, 'fp', async () => Buffer.from('x'));
    await cache.remove(thread);
    await cache.remove(thread);
    expect(readdirSync(dir)).toEqual([]);
  });
});
