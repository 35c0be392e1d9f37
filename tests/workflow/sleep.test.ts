import { describe, expect, it } from 'vitest';
import { sleep } from '../../src/workflow/sleep.js';

describe('sleep', () => {
  it('resolves after the time given', async () => {
    await expect(sleep(1)).resolves.toBeUndefined();
  });

  it("rejects with the signal's reason as soon as it aborts, and at once when it was aborted already", async () => {
    const controller = new AbortController();
    const reason = new Error('deleted');
    const pending = sleep(60_000, controller.signal);
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await expect(sleep(60_000, controller.signal)).rejects.toBe(reason);
  });
});
