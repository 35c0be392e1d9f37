import { describe, expect, it } from 'vitest';
import { PartsInterner } from '../../src/store/parts-interner.js';

const log = (n: number) => ({ timestamp: `2026-01-01T00:00:0${n}.000Z`, level: 'info', message: `line ${n}` });
const section = (id: string, status: string) => ({ section_id: id, status, content_html: `<p>${id} ${status}</p>` });

describe('PartsInterner (parts copied from the generation thread stay the same objects while unchanged)', () => {
  it('reuses unchanged sections by place and makes a changed one afresh', () => {
    const interner = new PartsInterner();
    const first = interner.read('w', { sections: [section('a', 'completed'), section('b', 'pending')], exhibits: [], logs: [] });
    const second = interner.read('w', { sections: [section('a', 'completed'), section('b', 'in_progress')], exhibits: [], logs: [] });
    expect(second.sections[0]).toBe(first.sections[0]);
    expect(second.sections[1]).not.toBe(first.sections[1]);
    expect(second.sections[1]).toEqual({ section_id: 'b', status: 'in_progress', content_html: '<p>b in_progress</p>' });
    expect(Object.isFrozen(second.sections[1])).toBe(true);
  });

  it('follows the log window as it moves forward', () => {
    const interner = new PartsInterner();
    const first = interner.read('w', { sections: [], exhibits: [], logs: [log(1), log(2), log(3)] });
    const moved = interner.read('w', { sections: [], exhibits: [], logs: [log(2), log(3), log(4)] });
    expect(moved.logs[0]).toBe(first.logs[1]);
    expect(moved.logs[1]).toBe(first.logs[2]);
    expect(moved.logs[2]).toEqual(log(4));
  });

  it('keeps workflows apart, forgets a deleted one, and makes everything afresh when the same place holds another part', () => {
    const interner = new PartsInterner();
    const a = interner.read('a', { sections: [section('x', 'pending')], exhibits: [], logs: [log(1)] });
    const b = interner.read('b', { sections: [section('x', 'pending')], exhibits: [], logs: [log(1)] });
    expect(b.sections[0]).not.toBe(a.sections[0]);
    interner.forget('a');
    expect(interner.read('a', { sections: [section('x', 'pending')], exhibits: [], logs: [log(1)] }).sections[0]).not.toBe(a.sections[0]);
    const other = interner.read('b', { sections: [section('y', 'pending')], exhibits: [], logs: [log(5)] });
    expect(other.sections[0]).toEqual(section('y', 'pending'));
    expect(other.logs[0]).toEqual(log(5));
  });

  it('stays within its bound by dropping the least recently read workflows', () => {
    const interner = new PartsInterner(2_000);
    const big = { section_id: 's', content_html: 'x'.repeat(600) };
    const first = interner.read('w0', { sections: [{ ...big }], exhibits: [], logs: [] });
    for (let i = 1; i < 5; i++) interner.read(`w${i}`, { sections: [big], exhibits: [], logs: [] });
    expect(interner.read('w0', { sections: [{ ...big }], exhibits: [], logs: [] }).sections[0]).not.toBe(first.sections[0]);
  });

  it('compares parts field by field: one more or one fewer field is another part', () => {
    const interner = new PartsInterner();
    const part = (id: string, status: string) => ({ section_id: id, status, content_html: `<p>${id}</p>` });
    const first = interner.read('w', { sections: [part('a', 'completed'), part('b', 'pending')], exhibits: [], logs: [] });
    const second = interner.read('w', { sections: [part('a', 'completed'), part('b', 'in_progress')], exhibits: [], logs: [] });
    expect(second.sections[0]).toBe(first.sections[0]);
    expect(second.sections[1]).not.toBe(first.sections[1]);
    expect(Object.isFrozen(second.sections[1])).toBe(true);
    // One more or one fewer field is another part.
    const third = interner.read('w', { sections: [{ ...part('a', 'completed'), error_message: 'x' }, part('b', 'in_progress')], exhibits: [], logs: [] });
    expect(third.sections[0]).not.toBe(second.sections[0]);
    expect(third.sections[1]).toBe(second.sections[1]);
  });
});
