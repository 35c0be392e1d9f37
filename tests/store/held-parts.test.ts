import { describe, expect, it } from 'vitest';
import { HeldParts, type PartsReply, type ReadBase } from '../../src/store/redis/held-parts.js';

const section = (id: string, order: number, status: string) =>
  JSON.stringify({ section_id: id, section_order: order, status, content_html: `<p>${id} ${status}</p>` });
const line = (n: number) => JSON.stringify({ timestamp: 't', level: 'info', message: `line ${n}`, agent: 'a' });
const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => line(from + i));
const at = (version: number, logsTotal: number, incarnation = 'i1'): ReadBase => ({ version, logsTotal, incarnation });
const full = (sections: string[], logs: string[], exhibits: string[] = []): PartsReply => ({ mode: 'full', sections, exhibits, logs });
const delta = (sections: string[], logs: string[], exhibits: string[] | null = null): PartsReply => ({ mode: 'delta', sections, exhibits, logs });
const messages = (parts: { logs: Array<{ message: string }> } | null) => parts!.logs.map((l) => l.message);

describe('HeldParts (what a Redis read builds on)', () => {
  it('applies a delta to the held parts: changed sections replaced, the rest the same objects, new lines appended', () => {
    const held = new HeldParts();
    const first = held.apply('w', null, at(3, 3), full([section('b', 2, 'pending'), section('a', 1, 'completed')], lines(1, 3)), 50)!;
    expect(first.sections.map((s) => s.section_id)).toEqual(['a', 'b']);
    const base = held.base('w', 50)!;
    expect(base).toMatchObject(at(3, 3));
    const second = held.apply('w', base, at(5, 5), delta([section('b', 2, 'completed')], lines(4, 5)), 50)!;
    expect(second.sections[0]).toBe(first.sections[0]);
    expect(second.sections[1]).toMatchObject({ section_id: 'b', status: 'completed' });
    expect(Object.isFrozen(second.sections[1])).toBe(true);
    expect(messages(second)).toEqual(['line 1', 'line 2', 'line 3', 'line 4', 'line 5']);
    expect(second.logs[0]).toBe(first.logs[0]);
  });

  it('takes the newest lines alone when more were pushed than the window, and keeps the widest window it can', () => {
    const held = new HeldParts();
    held.apply('w', null, at(1, 10), full([], lines(1, 10)), 10);
    // A read of 1 line keeps the 10 held ones for the next read of 10.
    expect(messages(held.apply('w', held.base('w', 1), at(2, 11), delta([], lines(11, 11)), 1))).toEqual(['line 11']);
    expect(messages(held.apply('w', held.base('w', 10), at(3, 12), delta([], lines(12, 12)), 10))).toEqual(lines(3, 12).map((l) => JSON.parse(l).message));
    // 30 new lines, of which Redis sent the newest 10.
    expect(messages(held.apply('w', held.base('w', 10), at(4, 42), delta([], lines(33, 42)), 10))).toEqual(lines(33, 42).map((l) => JSON.parse(l).message));
    // A wider window than is held cannot build on it.
    expect(held.base('w', 50)).toBeNull();
  });

  it('asks for a full read when a delta names a section it does not hold, and drops another incarnation', () => {
    const held = new HeldParts();
    held.apply('w', null, at(1, 0), full([section('a', 1, 'pending')], []), 50);
    expect(held.apply('w', held.base('w', 50), at(2, 0), delta([section('zz', 9, 'pending')], []), 50)).toBeNull();
    const old = held.apply('w', null, at(2, 0), full([section('a', 1, 'pending')], []), 50)!;
    const again = held.apply('w', null, at(1, 0, 'i2'), full([section('a', 1, 'pending')], []), 50)!;
    expect(again.sections[0]).toEqual(old.sections[0]);
    expect(again.sections[0]).not.toBe(old.sections[0]);
    expect(held.base('w', 50)).toMatchObject({ incarnation: 'i2', version: 1 });
  });

  it('keeps the newer snapshot when two reads finish out of order', () => {
    const held = new HeldParts();
    held.apply('w', null, at(1, 1), full([section('a', 1, 'pending')], lines(1, 1)), 50);
    const base = held.base('w', 50);
    held.apply('w', base, at(4, 2), delta([section('a', 1, 'completed')], lines(2, 2)), 50);
    const late = held.apply('w', base, at(2, 1), delta([section('a', 1, 'in_progress')], []), 50)!;
    expect(late.sections[0]!.status).toBe('in_progress');
    expect(held.base('w', 50)).toMatchObject({ version: 4, logsTotal: 2 });
  });

  it('stays within its bound by dropping the least recently read workflows', () => {
    const held = new HeldParts(4_000);
    const big = JSON.stringify({ section_id: 's', section_order: 1, content_html: 'x'.repeat(1_500) });
    for (let i = 0; i < 5; i++) held.apply(`w${i}`, null, at(1, 0), full([big], []), 50);
    expect(held.base('w0', 50)).toBeNull();
    expect(held.base('w4', 50)).not.toBeNull();
    held.forget('w4');
    expect(held.base('w4', 50)).toBeNull();
  });
});
