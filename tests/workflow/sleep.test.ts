import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { sleep } from '../../src/workflow/sleep.js';

describe('sleep', () => {
  it('resolves after the time, with or without a signal', async () => {
    const began = Date.now();
    await sleep(30);
    await sleep(30, new AbortController().signal);
    expect(Date.now() - began).toBeGreaterThanOrEqual(55);
  });

  it("rejects with the signal's reason at once when it aborts, and every sleep on that signal with it", async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    const began = Date.now();
    const sleeps = [sleep(10_000, controller.signal), sleep(20_000, controller.signal), sleep(5, controller.signal)];
    await sleeps[2];
    setTimeout(() => controller.abort(reason), 20);
    for (const s of sleeps.slice(0, 2)) await expect(s).rejects.toBe(reason);
    expect(Date.now() - began).toBeLessThan(1000);
    // Already aborted: rejects without waiting.
    await expect(sleep(10_000, controller.signal)).rejects.toBe(reason);
  });

  it('keeps one abort listener per signal however many sleeps it has seen, and none on another signal', async () => {
    const controller = new AbortController();
    const other = new AbortController();
    for (let i = 0; i < 50; i++) await sleep(0, controller.signal);
    await Promise.all(Array.from({ length: 50 }, () => sleep(1, controller.signal)));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    expect(getEventListeners(other.signal, 'abort')).toHaveLength(0);
    // Aborting after every sleep has finished rejects nothing and leaves no listener.
    controller.abort(new Error('late'));
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('never resolves after an abort has rejected it', async () => {
    const controller = new AbortController();
    let resolved = false;
    const s = sleep(40, controller.signal).then(() => (resolved = true));
    controller.abort(new Error('gone'));
    await expect(s).rejects.toThrow('gone');
    await sleep(80);
    expect(resolved).toBe(false);
  });
});
