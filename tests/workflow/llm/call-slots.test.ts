import { describe, expect, it } from 'vitest';
import { CallSlots } from '../../../src/workflow/llm/call-slots.js';

const live = () => new AbortController().signal;

describe('model call slots', () => {
  it('lets at most `size` calls in and the rest in the order they asked', async () => {
    const slots = new CallSlots(2);
    const first = await slots.acquire(live());
    const second = await slots.acquire(live());
    const order: string[] = [];
    const waits: number[] = [];
    const third = slots.acquire(live(), (ahead) => waits.push(ahead)).then((r) => (order.push('third'), r));
    const fourth = slots.acquire(live(), (ahead) => waits.push(ahead)).then((r) => (order.push('fourth'), r));
    expect(slots.inFlight).toBe(2);
    expect(slots.waiting).toBe(2);
    expect(waits).toEqual([0, 1]);

    first();
    first(); // a second call gives nothing back twice
    (await third)();
    second();
    (await fourth)();
    expect(order).toEqual(['third', 'fourth']);
    expect(slots.inFlight).toBe(0);
  });

  it('tells nobody to wait while a slot is free', async () => {
    const slots = new CallSlots(1);
    let told = false;
    const release = await slots.acquire(live(), () => (told = true));
    expect(told).toBe(false);
    release();
  });

  it('drops an aborted waiter from the queue, and the next one gets its turn', async () => {
    const slots = new CallSlots(1);
    const held = await slots.acquire(live());
    const quitter = new AbortController();
    const gone = slots.acquire(quitter.signal);
    const stays = slots.acquire(live());
    quitter.abort(new Error('deleted'));
    await expect(gone).rejects.toThrow('deleted');
    expect(slots.waiting).toBe(1);
    held();
    const release = await stays;
    expect(slots.inFlight).toBe(1);
    release();
    expect(slots.inFlight).toBe(0);
  });

  it('refuses at once when the signal is already aborted', async () => {
    const slots = new CallSlots(1);
    const c = new AbortController();
    c.abort(new Error('gone'));
    await expect(slots.acquire(c.signal)).rejects.toThrow('gone');
    expect(slots.inFlight).toBe(0);
  });
});
