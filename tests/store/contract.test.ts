import { v4 as uuidv4 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WRITE_IDS_KEPT, type NewWorkflow, type WorkflowChange, type WorkflowStore } from '../../src/store/workflow-store.js';
import type { Exhibit, LogEntry, Section, WorkflowStatus } from '../../src/domain/types.js';
import { waitFor } from '../helpers/app.js';
import { noticeIfSkipped } from '../helpers/redis.js';
import { memoryHarness, redisClusterHarness, redisHarness, type StoreHarness, type StoreUnderTest } from './harness.js';

const harnesses = [memoryHarness(), redisHarness(), redisClusterHarness()];
for (const h of harnesses) noticeIfSkipped(h.available, `the store contract suite on ${h.name}`);

const T0 = '2026-01-01T00:00:00.000Z';

function log(message: string, level: LogEntry['level'] = 'info'): LogEntry {
  return { timestamp: new Date().toISOString(), level, message, agent: 'test' };
}

function section(id: string, order: number): Section {
  return { section_id: id, section_name: `Section ${id}`, section_order: order, status: 'pending', content_html: '', updated_at: T0, tokens_used: 0 };
}

function exhibit(id: string, size = 10): Exhibit {
  return {
    exhibit_id: id,
    filename: `${id} résumé.pdf`,
    stored_name: `${id}_r_sum_.pdf`,
    file_path: `/api/exhibits/x/${id}_r_sum_.pdf`,
    file_size: size,
    mime_type: 'application/pdf',
    uploaded_at: new Date().toISOString(),
  };
}

function newWorkflow(status: WorkflowStatus = 'generating', created_at = new Date().toISOString()): NewWorkflow {
  return {
    head: {
      thread_id: uuidv4(),
      case_id: 'case-1',
      user_id: 'user@example.com',
      document_type: 'letter',
      case_facts: { beneficiary_name: 'Dr. Ada Ünal', awards: [], publications: ['A "quoted" <b>title</b>'] },
      status,
      created_at,
    },
    // Deliberately out of order: the store keeps sections by section_order.
    sections: [section('closing', 3), section('header', 1), section('body', 2)],
    logs: [log('Starting')],
  };
}

const completedPatch = (tokens: number, ms: number) => ({
  status: 'completed' as const,
  updated_at: new Date().toISOString(),
  content_html: '<p>Done — “quoted” ünïcode &amp; /slashes/</p>',
  tokens_used: tokens,
  duration_ms: ms,
});

describe.each(harnesses)('WorkflowStore contract: $name', (harness: StoreHarness) => {
  if (!harness.available) {
    it.skip('needs Redis', () => {});
    return;
  }

  let sut: StoreUnderTest;
  let store: WorkflowStore;
  beforeAll(async () => {
    await harness.setup();
    sut = await harness.make();
    store = sut.store;
  });
  afterAll(() => harness.teardown());

  async function created(status: WorkflowStatus = 'generating') {
    const wf = newWorkflow(status);
    await store.create(wf);
    return wf.head.thread_id;
  }

  /**
   * Redis delivers through pub/sub, which does not replay: a change published before the subscription is
   * in place is not seen. Write to a probe workflow until a change comes through.
   */
  async function untilListening(seen: WorkflowChange[]) {
    const probe = await created();
    await waitFor(
      async () => {
        await store.appendLog(probe, log('probe'));
        return seen.some((c) => c.thread_id === probe);
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
  }

  describe('create, get and getHead', () => {
    it('stores a new workflow with version 1, sorted sections and zeroed aggregates', async () => {
      const wf = newWorkflow('generating', '2026-03-04T05:06:07.000Z');
      await store.create(wf);
      const got = await store.get(wf.head.thread_id);
      expect(got).toMatchObject({
        ...wf.head,
        version: 1,
        error_message: null,
        total_sections: 3,
        completed_sections: 0,
        completed_ms: 0,
        total_tokens: 0,
        prompt_tokens: 0,
        completion_tokens: 0,
        active_ms: 0,
        generating_since: Date.parse('2026-03-04T05:06:07.000Z'),
        exhibits: [],
        logs: wf.logs,
      });
      expect(got!.case_facts).toEqual(wf.head.case_facts);
      expect(got!.sections.map((s) => s.section_id)).toEqual(['header', 'body', 'closing']);
      expect(got!.sections[0]).toEqual({ ...section('header', 1), version: 1 });
      expect(Date.parse(got!.updated_at)).toBeGreaterThan(0);
      const head = await store.getHead(wf.head.thread_id);
      const { sections: _s, exhibits: _e, logs: _l, ...expectedHead } = got!;
      expect(head).toEqual(expectedHead);
    });

    it('starts a workflow created in another status without a generating span', async () => {
      const id = await created('paused');
      expect(await store.getHead(id)).toMatchObject({ status: 'paused', generating_since: null, case_facts: expect.any(Object) });
    });

    it('keeps null case facts as null', async () => {
      const wf = newWorkflow();
      wf.head.case_facts = null;
      await store.create(wf);
      expect((await store.getHead(wf.head.thread_id))!.case_facts).toBeNull();
    });

    it('refuses to create a thread id twice and keeps the first', async () => {
      const wf = newWorkflow();
      await store.create(wf);
      await expect(store.create({ ...wf, head: { ...wf.head, case_id: 'other' } })).rejects.toThrow();
      expect((await store.getHead(wf.head.thread_id))!.case_id).toBe('case-1');
    });

    it('answers null/false for a workflow that does not exist', async () => {
      const id = uuidv4();
      expect(await store.get(id)).toBeNull();
      expect(await store.getHead(id)).toBeNull();
      expect(await store.transition(id, { from: ['generating'], to: 'paused', at: Date.now() })).toEqual({ ok: false, current: null });
      expect(await store.appendLog(id, log('x'))).toBe(false);
      expect(await store.putExhibit(id, exhibit('a'))).toBeNull();
      expect(await store.delete(id)).toBe(false);
      expect(await store.acquireLease(id, 't', 1000)).toBe(false);
      expect(await store.renewLease(id, 't', 1000)).toBe(false);
      await expect(store.releaseLease(id, 't')).resolves.toBeUndefined();
      expect(await store.updateSection(id, 'header', completedPatch(1, 1), { leaseToken: 't' })).toBeNull();
      expect(await store.getHead(id)).toBeNull(); // none of them created it
      expect(await store.listActive()).not.toContain(id);
    });

    it('hands out copies or frozen values: changing a returned object changes nothing stored', async () => {
      const id = await created();
      const got = await store.get(id);
      const head = await store.getHead(id);
      const sectionCount = got!.sections.length;
      // A frozen value refuses the change (TypeError in strict code); a copy takes it. Either way, nothing stored moves.
      const attempt = (change: () => void) => {
        try {
          change();
        } catch (err) {
          expect(err).toBeInstanceOf(TypeError);
        }
      };
      attempt(() => (got!.sections[0]!.status = 'completed'));
      attempt(() => got!.sections.push({ ...got!.sections[0]!, section_id: 'injected' }));
      attempt(() => got!.logs.push(log('injected')));
      attempt(() => got!.case_facts!.awards!.push('injected'));
      attempt(() => (head!.status = 'error'));
      attempt(() => (head!.case_facts!.beneficiary_name = 'injected'));
      expect((await store.getHead(id))!.status).toBe('generating');
      expect((await store.getHead(id))!.case_facts!.beneficiary_name).toBe('Dr. Ada Ünal');
      const again = await store.get(id);
      expect(again!.sections).toHaveLength(sectionCount);
      expect(again!.sections[0]!.status).toBe('pending');
      expect(again!.logs).toHaveLength(1);
      expect(again!.case_facts!.awards).toEqual([]);
    });

    it('hands out snapshots: what a read returned does not change when the workflow is written afterwards', async () => {
      const id = await created();
      await store.acquireLease(id, 'owner', 10_000);
      await store.putExhibit(id, exhibit('a'));
      const before = (await store.get(id))!;
      const head = (await store.getHead(id))!;
      const [beforeCopy, headCopy] = [structuredClone(before), structuredClone(head)];
      await store.updateSection(id, 'header', completedPatch(5, 5), { leaseToken: 'owner', log: log('Completed header') });
      await store.putExhibit(id, exhibit('a', 99));
      await store.transition(id, { from: ['generating'], to: 'paused', at: Date.now(), log: log('paused') });
      expect(before).toEqual(beforeCopy);
      expect(head).toEqual(headCopy);
    });
  });

  describe('getIfChanged', () => {
    it('answers the head alone while the version is the known one, and the whole workflow once it moved', async () => {
      expect(await store.getIfChanged('7d1f0c8e-0000-4000-8000-000000000000', 1)).toBeNull();
      const id = await created();
      const exhibit = { exhibit_id: '2.1.a', filename: 'a.pdf', stored_name: 'a.pdf', file_path: '/x', file_size: 1, mime_type: 'application/pdf', uploaded_at: '2026-01-01T00:00:00.000Z' };
      await store.putExhibit(id, exhibit);
      for (let i = 0; i < 5; i++) await store.appendLog(id, { timestamp: '2026-01-01T00:00:00.000Z', level: 'info', message: `line ${i}`, agent: 'a' });
      const head = (await store.getHead(id))!;

      const unchanged = await store.getIfChanged(id, head.version, { logLimit: 3 });
      expect(unchanged).toEqual({ head, workflow: null });

      const changed = await store.getIfChanged(id, head.version - 1, { logLimit: 3 });
      expect(changed?.workflow).toEqual(await store.get(id, { logLimit: 3 }));
      expect(changed?.workflow?.logs.map((l) => l.message)).toEqual(['line 2', 'line 3', 'line 4']);
      expect(changed?.workflow?.exhibits).toEqual([exhibit]);
      expect(changed?.head.version).toBe(head.version);
      expect((await store.getIfChanged(id, -1, { logLimit: 0 }))?.workflow?.logs).toEqual([]);

      await store.appendLog(id, { timestamp: '2026-01-01T00:00:01.000Z', level: 'info', message: 'moved', agent: 'a' });
      const moved = await store.getIfChanged(id, head.version);
      expect(moved?.head.version).toBe(head.version + 1);
      expect(moved?.workflow?.logs.at(-1)?.message).toBe('moved');
    });
  });

  describe('a finished workflow', () => {
    it('keeps everything through its completion, lease release and later writes (uploads, log lines, deletion)', async () => {
      const id = await created();
      expect(await store.acquireLease(id, 'loop', 10_000)).toBe(true);
      await store.putExhibit(id, exhibit('1.a'));
      for (const [n, s] of ['header', 'body', 'closing'].entries()) {
        expect(await store.updateSection(id, s, completedPatch(10 + n, 5), { leaseToken: 'loop', log: log(`done ${s}`) })).not.toBeNull();
      }
      expect((await store.transition(id, { from: ['generating'], to: 'completed', at: Date.now(), log: log('finished') })).ok).toBe(true);
      const atCompletion = await store.get(id);
      await store.releaseLease(id, 'loop');
      const { version: _v, updated_at: _u, ...rest } = atCompletion!;
      expect(await store.get(id)).toMatchObject(rest);
      expect(await store.getHead(id)).toMatchObject({ status: 'completed', completed_sections: 3, total_tokens: 33 });

      // Later writes land on top of what was there.
      expect(await store.putExhibit(id, exhibit('2.b', 99), log('late upload'))).toEqual({ replaced: null });
      expect(await store.appendLog(id, log('reviewed'))).toBe(true);
      const later = await store.get(id);
      expect(later!.sections).toEqual(atCompletion!.sections);
      expect(later!.exhibits.map((e) => [e.exhibit_id, e.file_size])).toEqual([['1.a', 10], ['2.b', 99]]);
      expect(later!.logs.map((l) => l.message).slice(-3)).toEqual(['finished', 'late upload', 'reviewed']);
      expect((await store.get(id, { logLimit: 1 }))!.logs.map((l) => l.message)).toEqual(['reviewed']);
      expect(later!.version).toBe(atCompletion!.version + 2);

      // What a read hands out still cannot change what is stored.
      try {
        later!.sections[0]!.content_html = 'changed';
      } catch (err) {
        expect(err).toBeInstanceOf(TypeError);
      }
      expect((await store.get(id))!.sections[0]!.content_html).toBe(completedPatch(0, 0).content_html);

      expect(await store.delete(id)).toBe(true);
      expect(await store.get(id)).toBeNull();
    });
  });

  describe('logs', () => {
    it('keeps only the newest 100, oldest first, and honours logLimit', async () => {
      const id = await created();
      for (let i = 0; i < 120; i++) await store.appendLog(id, log(`line ${i}`));
      const all = await store.get(id);
      expect(all!.logs).toHaveLength(100);
      expect(all!.logs[0]!.message).toBe('line 20');
      expect(all!.logs[99]!.message).toBe('line 119');
      expect((await store.get(id, { logLimit: 3 }))!.logs.map((l) => l.message)).toEqual(['line 117', 'line 118', 'line 119']);
      expect((await store.get(id, { logLimit: 0 }))!.logs).toEqual([]);
      expect((await store.get(id, { logLimit: 500 }))!.logs).toHaveLength(100);
    });

    it('bumps the version and updated_at with every line', async () => {
      const id = await created();
      const before = (await store.getHead(id))!;
      await sut.advance(5);
      expect(await store.appendLog(id, log('one'))).toBe(true);
      const after = (await store.getHead(id))!;
      expect(after.version).toBe(before.version + 1);
      expect(Date.parse(after.updated_at)).toBeGreaterThan(Date.parse(before.updated_at));
    });
  });

  describe('transition (status compare-and-set)', () => {
    it('changes the status from an allowed one, with its log line, and returns the new head', async () => {
      const id = await created();
      const result = await store.transition(id, { from: ['generating'], to: 'paused', at: Date.now(), log: log('paused', 'warning') });
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      expect(result.head).toMatchObject({ status: 'paused', version: 2 });
      expect(result.head).toEqual(await store.getHead(id));
      expect((await store.get(id))!.logs.at(-1)).toMatchObject({ message: 'paused', level: 'warning' });
    });

    it('refuses from any other status and reports the current one, changing nothing', async () => {
      const id = await created('paused');
      const before = await store.get(id);
      expect(await store.transition(id, { from: ['generating'], to: 'paused', at: Date.now(), log: log('no') })).toEqual({
        ok: false,
        current: 'paused',
      });
      expect(await store.get(id)).toEqual(before);
    });

    it('accepts any of several allowed statuses', async () => {
      const id = await created('paused');
      const result = await store.transition(id, { from: ['generating', 'paused'], to: 'error', at: Date.now(), errorMessage: 'boom' });
      expect(result).toMatchObject({ ok: true, head: { status: 'error', error_message: 'boom' } });
    });

    it('counts only generating time: active_ms and generating_since move on each transition', async () => {
      const start = Date.parse('2026-01-01T00:00:00.000Z');
      const wf = newWorkflow('generating', new Date(start).toISOString());
      const id = wf.head.thread_id;
      await store.create(wf);
      await store.transition(id, { from: ['generating'], to: 'paused', at: start + 1500 });
      expect(await store.getHead(id)).toMatchObject({ active_ms: 1500, generating_since: null });
      await store.transition(id, { from: ['paused'], to: 'generating', at: start + 10_000 });
      expect(await store.getHead(id)).toMatchObject({ active_ms: 1500, generating_since: start + 10_000 });
      await store.transition(id, { from: ['generating'], to: 'completed', at: start + 12_250 });
      expect(await store.getHead(id)).toMatchObject({ status: 'completed', active_ms: 3750, generating_since: null, error_message: null });
    });

    it('never lets time run backwards', async () => {
      const start = Date.parse('2026-01-01T00:00:00.000Z');
      const wf = newWorkflow('generating', new Date(start).toISOString());
      await store.create(wf);
      await store.transition(wf.head.thread_id, { from: ['generating'], to: 'paused', at: start - 1000 });
      expect((await store.getHead(wf.head.thread_id))!.active_ms).toBe(0);
    });

    it('uses a default message when an error transition has none', async () => {
      const id = await created();
      const result = await store.transition(id, { from: ['generating'], to: 'error', at: Date.now() });
      expect(result.ok && result.head.error_message).toEqual(expect.any(String));
    });

    it('when 20 pauses race, exactly one succeeds and one log line is written', async () => {
      const id = await created();
      const results = await Promise.all(
        Array.from({ length: 20 }, () => store.transition(id, { from: ['generating'], to: 'paused', at: Date.now(), log: log('paused') })),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.current === 'paused')).toBe(true);
      expect((await store.get(id))!.logs.filter((l) => l.message === 'paused')).toHaveLength(1);
    });

    it('when pauses and resumes race, the statuses alternate and every success is logged', async () => {
      const id = await created();
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          i % 2 === 0
            ? store.transition(id, { from: ['generating'], to: 'paused', at: Date.now(), log: log('p') })
            : store.transition(id, { from: ['paused'], to: 'generating', at: Date.now(), log: log('r') }),
        ),
      );
      const wins = results.filter((r) => r.ok).length;
      const wf = (await store.get(id))!;
      expect(wf.logs.length - 1).toBe(wins);
      expect(wf.version).toBe(1 + wins);
      // The first pause always wins; from then on the last logged success decides the status.
      expect(wins).toBeGreaterThan(0);
      expect(wf.status).toBe(wf.logs.at(-1)!.message === 'p' ? 'paused' : 'generating');
    });
  });

  describe('updateSection (fenced by the lease)', () => {
    it('is refused without the lease, and with someone else’s', async () => {
      const id = await created();
      expect(await store.updateSection(id, 'header', completedPatch(5, 5), { leaseToken: 'nobody' })).toBeNull();
      expect(await store.acquireLease(id, 'owner', 10_000)).toBe(true);
      expect(await store.updateSection(id, 'header', completedPatch(5, 5), { leaseToken: 'intruder' })).toBeNull();
      const wf = (await store.get(id))!;
      expect(wf).toMatchObject({ version: 1, completed_sections: 0 });
      expect(wf.sections[0]!.status).toBe('pending');
    });

    it('is refused for an unknown section', async () => {
      const id = await created();
      await store.acquireLease(id, 'owner', 10_000);
      expect(await store.updateSection(id, 'nope', completedPatch(5, 5), { leaseToken: 'owner' })).toBeNull();
    });

    it('writes the section and its log line, and counts a completion once', async () => {
      const id = await created();
      await store.acquireLease(id, 'owner', 10_000);
      const at = new Date().toISOString();
      expect(await store.updateSection(id, 'body', { status: 'in_progress', updated_at: at }, { leaseToken: 'owner', log: log('Generating') })).not.toBeNull();
      let wf = (await store.get(id))!;
      expect(wf.sections[1]).toMatchObject({ section_id: 'body', status: 'in_progress', updated_at: at });
      expect(wf.completed_sections).toBe(0);

      const patch = completedPatch(120, 800);
      expect(await store.updateSection(id, 'body', patch, { leaseToken: 'owner', log: log('Completed') })).not.toBeNull();
      expect(await store.updateSection(id, 'body', patch, { leaseToken: 'owner' })).not.toBeNull();
      wf = (await store.get(id))!;
      expect(wf.sections[1]).toEqual({ ...section('body', 2), ...patch, version: 4 });
      expect(wf).toMatchObject({ completed_sections: 1, total_tokens: 120, completed_ms: 800, version: 4 });
      expect(wf.logs.map((l) => l.message)).toEqual(['Starting', 'Generating', 'Completed']);
    });

    it('answers the version the write left: one more when nobody else wrote, more when someone did', async () => {
      const id = await created();
      await store.acquireLease(id, 'owner', 10_000);
      const before = (await store.getHead(id))!;
      const version = await store.updateSection(id, 'body', completedPatch(120, 800), { leaseToken: 'owner', log: log('Completed') });
      expect(version).toBe(before.version + 1);
      expect(await store.getHead(id)).toMatchObject({ version, status: 'generating', completed_sections: 1, total_tokens: 120, completed_ms: 800 });

      // A pause by someone else shows in the next answer: the version jumped by two (theirs and this write).
      await store.transition(id, { from: ['generating'], to: 'paused', at: Date.now() });
      expect(await store.updateSection(id, 'header', completedPatch(5, 5), { leaseToken: 'owner' })).toBe(version! + 2);
    });

    it('takes a completion back out of the aggregates when a section leaves completed', async () => {
      const id = await created();
      await store.acquireLease(id, 'owner', 10_000);
      await store.updateSection(id, 'header', completedPatch(100, 300), { leaseToken: 'owner' });
      await store.updateSection(id, 'body', completedPatch(50, 200), { leaseToken: 'owner' });
      await store.updateSection(id, 'header', { status: 'in_progress', updated_at: new Date().toISOString() }, { leaseToken: 'owner' });
      expect(await store.getHead(id)).toMatchObject({ completed_sections: 1, total_tokens: 50, completed_ms: 200 });
    });

    it('keeps an error message only while the section is in error', async () => {
      const id = await created();
      await store.acquireLease(id, 'owner', 10_000);
      const now = new Date().toISOString();
      await store.updateSection(id, 'header', { status: 'error', updated_at: now, error_message: 'writer broke' }, { leaseToken: 'owner' });
      expect((await store.get(id))!.sections[0]).toMatchObject({ status: 'error', error_message: 'writer broke' });
      await store.updateSection(id, 'header', { status: 'in_progress', updated_at: now }, { leaseToken: 'owner' });
      // Gone from what any reader sees: the value, and the JSON the preview and the packed body are made of.
      const section = (await store.get(id))!.sections[0]!;
      expect(section.error_message).toBeUndefined();
      expect(JSON.parse(JSON.stringify(section))).not.toHaveProperty('error_message');
    });

    it('stamps each section with the version of the write that last changed it', async () => {
      const id = await created();
      await store.acquireLease(id, 'owner', 10_000);
      expect((await store.get(id))!.sections.map((s) => s.version)).toEqual([1, 1, 1]);
      await store.appendLog(id, log('x'));
      const started = await store.updateSection(id, 'body', { status: 'in_progress', updated_at: T0 }, { leaseToken: 'owner' });
      await store.putExhibit(id, exhibit('a'));
      const completed = await store.updateSection(id, 'header', completedPatch(1, 1), { leaseToken: 'owner' });
      expect([started, completed]).toEqual([3, 5]);
      const wf = (await store.get(id))!;
      expect(wf.sections.map((s) => [s.section_id, s.version])).toEqual([['header', 5], ['body', 3], ['closing', 1]]);
    });

    it('keeps usage and citations, and sums the tokens of the completed sections in the head', async () => {
      const id = await created();
      await store.acquireLease(id, 'owner', 10_000);
      const usage = (prompt: number, completion: number, citations: string[], unknown: string[]) => ({
        ...completedPatch(prompt + completion, 100),
        prompt_tokens: prompt,
        completion_tokens: completion,
        citations,
        unknown_citations: unknown,
      });
      await store.updateSection(id, 'header', usage(300, 120, ['2.1.a', '9.z'], ['9.z']), { leaseToken: 'owner' });
      await store.updateSection(id, 'body', usage(200, 80, [], []), { leaseToken: 'owner' });
      // A section written without usage (the template writer) adds nothing to the two sums.
      await store.updateSection(id, 'closing', completedPatch(7, 1), { leaseToken: 'owner' });
      const wf = (await store.get(id))!;
      expect(wf.sections[0]).toMatchObject({ tokens_used: 420, prompt_tokens: 300, completion_tokens: 120, citations: ['2.1.a', '9.z'], unknown_citations: ['9.z'] });
      expect(wf.sections[1]).toMatchObject({ citations: [], unknown_citations: [] });
      expect(wf.sections[2]!.citations).toBeUndefined();
      expect(wf).toMatchObject({ completed_sections: 3, total_tokens: 707, prompt_tokens: 500, completion_tokens: 200 });
      expect(await store.getHead(id)).toMatchObject({ total_tokens: 707, prompt_tokens: 500, completion_tokens: 200 });

      // Written again (a takeover after a crash): its numbers leave the sums until it completes again.
      await store.updateSection(id, 'header', { status: 'in_progress', updated_at: T0, content_html: '' }, { leaseToken: 'owner' });
      expect(await store.getHead(id)).toMatchObject({ completed_sections: 2, total_tokens: 287, prompt_tokens: 200, completion_tokens: 80 });
    });

    it('resumes from error: generating clears the workflow error, and a restarted section starts clean', async () => {
      const id = await created();
      await store.acquireLease(id, 'owner', 10_000);
      const write = (sectionId: string, patch: Parameters<WorkflowStore['updateSection']>[2]) =>
        store.updateSection(id, sectionId, patch, { leaseToken: 'owner' });
      await write('header', completedPatch(10, 10));
      await write('body', { status: 'in_progress', updated_at: T0, content_html: '<p>partial</p>' });
      await write('body', { status: 'error', updated_at: T0, error_message: 'The model API refused the key (401)' });
      await store.transition(id, { from: ['generating'], to: 'error', at: Date.now(), errorMessage: 'Section "Body" failed' });
      expect(await store.getHead(id)).toMatchObject({ status: 'error', error_message: 'Section "Body" failed' });
      expect((await store.get(id))!.sections[1]).toMatchObject({ status: 'error', error_message: 'The model API refused the key (401)' });

      const resumed = await store.transition(id, { from: ['paused', 'error'], to: 'generating', at: Date.now(), log: log('resumed') });
      expect(resumed).toMatchObject({ ok: true, head: { status: 'generating', error_message: null } });
      expect(await store.getHead(id)).toMatchObject({ status: 'generating', error_message: null, completed_sections: 1 });
      await write('body', { status: 'in_progress', updated_at: T0, content_html: '' });
      const wf = (await store.get(id))!;
      expect(wf.sections[1]).toMatchObject({ status: 'in_progress', content_html: '' });
      expect(JSON.parse(JSON.stringify(wf.sections[1]))).not.toHaveProperty('error_message');
      expect(wf.sections[0]).toMatchObject({ status: 'completed', content_html: completedPatch(0, 0).content_html });
    });
  });

  describe('retried writes (one writeId, applied once)', () => {
    it('a section write sent twice completes the section once, with one log line and one version', async () => {
      const seen: WorkflowChange[] = [];
      const stop = store.subscribe((c) => seen.push(c));
      await untilListening(seen);
      const id = await created();
      await store.acquireLease(id, 'owner', 10_000);
      const write = { leaseToken: 'owner', log: log('Completed section: Body'), writeId: uuidv4() };
      const first = await store.updateSection(id, 'body', completedPatch(120, 800), write);
      const second = await store.updateSection(id, 'body', completedPatch(120, 800), write);

      expect(first).toBe(2);
      expect(second).toBe(first);
      const wf = (await store.get(id))!;
      expect(wf).toMatchObject({ version: 2, completed_sections: 1, total_tokens: 120, completed_ms: 800 });
      expect(wf.sections[1]).toMatchObject({ status: 'completed', version: 2 });
      expect(wf.logs.map((l) => l.message)).toEqual(['Starting', 'Completed section: Body']);
      // Nothing is announced for the copy: the next change is the marker's.
      await store.appendLog(id, log('marker'));
      await waitFor(() => seen.some((c) => c.thread_id === id && c.kind === 'log'), { timeoutMs: 5000 });
      stop();
      expect(seen.filter((c) => c.thread_id === id)).toEqual([
        { thread_id: id, version: 1, kind: 'created' },
        { thread_id: id, version: 2, kind: 'section' },
        { thread_id: id, version: 3, kind: 'log' },
      ]);
    });

    it('a copy that lands after other writes and after the lease is gone answers the version its first copy left', async () => {
      const id = await created();
      await store.acquireLease(id, 'owner', 10_000);
      const write = { leaseToken: 'owner', log: log('Completed'), writeId: uuidv4() };
      const first = await store.updateSection(id, 'body', completedPatch(120, 800), write);
      await store.putExhibit(id, exhibit('a'), log('uploaded'));
      await store.releaseLease(id, 'owner');
      await store.acquireLease(id, 'successor', 10_000);

      expect(await store.updateSection(id, 'body', completedPatch(120, 800), write)).toBe(first);
      const wf = (await store.get(id))!;
      expect(wf).toMatchObject({ version: first! + 1, completed_sections: 1, total_tokens: 120 });
      expect(wf.logs.map((l) => l.message)).toEqual(['Starting', 'Completed', 'uploaded']);
    });

    it('a refused write is not remembered: its retry under the lease is applied', async () => {
      const id = await created();
      const writeId = uuidv4();
      expect(await store.updateSection(id, 'body', completedPatch(1, 1), { leaseToken: 'owner', log: log('Completed'), writeId })).toBeNull();
      await store.acquireLease(id, 'owner', 10_000);
      expect(await store.updateSection(id, 'body', completedPatch(1, 1), { leaseToken: 'owner', log: log('Completed'), writeId })).toBe(2);
      expect((await store.get(id))!.logs.map((l) => l.message)).toEqual(['Starting', 'Completed']);
    });

    it('a log line sent twice is kept once, and both copies answer true', async () => {
      const id = await created();
      const writeId = uuidv4();
      expect(await store.appendLog(id, log('cites Exhibit Z'), { writeId })).toBe(true);
      expect(await store.appendLog(id, log('cites Exhibit Z'), { writeId })).toBe(true);
      // Another id is another line.
      expect(await store.appendLog(id, log('cites Exhibit Z'), { writeId: uuidv4() })).toBe(true);
      const wf = (await store.get(id))!;
      expect(wf.version).toBe(3);
      expect(wf.logs.map((l) => l.message)).toEqual(['Starting', 'cites Exhibit Z', 'cites Exhibit Z']);
    });

    it('a transition sent twice is applied once, and the copy answers ok with the current head', async () => {
      const id = await created();
      const completed = { from: ['generating' as const], to: 'completed' as const, at: Date.now(), log: log('Done', 'success'), writeId: uuidv4() };
      const first = await store.transition(id, completed);
      const second = await store.transition(id, completed);

      expect(first).toMatchObject({ ok: true, head: { status: 'completed', version: 2 } });
      expect(second).toEqual(first);
      const wf = (await store.get(id))!;
      expect(wf.version).toBe(2);
      expect(wf.logs.map((l) => l.message)).toEqual(['Starting', 'Done']);
    });

    it(`remembers a write id while fewer than ${WRITE_IDS_KEPT} other identified writes follow it`, async () => {
      const id = await created();
      const writeId = uuidv4();
      await store.appendLog(id, log('first'), { writeId });
      for (let i = 1; i < WRITE_IDS_KEPT; i++) await store.appendLog(id, log(`other ${i}`), { writeId: uuidv4() });
      await store.appendLog(id, log('first'), { writeId });
      const wf = (await store.get(id))!;
      expect(wf.version).toBe(1 + WRITE_IDS_KEPT);
      expect(wf.logs.filter((l) => l.message === 'first')).toHaveLength(1);
    });
  });

  describe('exhibits', () => {
    it('adds exhibits in upload order; a replacement keeps one entry and moves to the end', async () => {
      const id = await created();
      expect(await store.putExhibit(id, exhibit('a', 1), log('uploaded a', 'success'))).toEqual({ replaced: null });
      await store.putExhibit(id, exhibit('b', 2));
      await store.putExhibit(id, exhibit('c', 3));
      const replacement = exhibit('a', 99);
      const result = await store.putExhibit(id, replacement);
      expect(result!.replaced).toMatchObject({ exhibit_id: 'a', file_size: 1 });
      const wf = (await store.get(id))!;
      expect(wf.exhibits.map((e) => e.exhibit_id)).toEqual(['b', 'c', 'a']);
      expect(wf.exhibits[2]).toEqual(replacement);
      expect(wf.logs.at(1)).toMatchObject({ message: 'uploaded a', level: 'success' });
      expect(wf.version).toBe(5);
    });
  });

  describe('delete', () => {
    it('removes every trace: state, lease, listing', async () => {
      const id = await created();
      await store.acquireLease(id, 'owner', 10_000);
      await store.putExhibit(id, exhibit('a'));
      expect(await store.delete(id)).toBe(true);
      expect(await store.get(id)).toBeNull();
      expect(await store.getHead(id)).toBeNull();
      expect(await store.listActive()).not.toContain(id);
      expect(await store.delete(id)).toBe(false);
      // A fresh workflow with the same id would not inherit the old lease.
      expect(await store.renewLease(id, 'owner', 10_000)).toBe(false);
    });
  });

  describe('leases', () => {
    it('is exclusive: taken when free, refused to another token, re-taken by its holder', async () => {
      const id = await created();
      expect(await store.acquireLease(id, 'a', 10_000)).toBe(true);
      expect(await store.acquireLease(id, 'b', 10_000)).toBe(false);
      expect(await store.acquireLease(id, 'a', 10_000)).toBe(true);
    });

    it('when 20 tokens race for a free lease, exactly one wins', async () => {
      const id = await created();
      const wins = await Promise.all(Array.from({ length: 20 }, (_, i) => store.acquireLease(id, `t${i}`, 10_000)));
      expect(wins.filter(Boolean)).toHaveLength(1);
    });

    it('renews and releases only for its holder, and lease calls are not writes (no version)', async () => {
      const id = await created();
      const version = (await store.getHead(id))!.version;
      await store.acquireLease(id, 'a', 10_000);
      expect(await store.renewLease(id, 'b', 10_000)).toBe(false);
      await store.releaseLease(id, 'b');
      expect(await store.acquireLease(id, 'b', 10_000)).toBe(false);
      expect(await store.renewLease(id, 'a', 10_000)).toBe(true);
      await store.releaseLease(id, 'a');
      expect(await store.renewLease(id, 'a', 10_000)).toBe(false);
      expect(await store.acquireLease(id, 'b', 10_000)).toBe(true);
      expect((await store.getHead(id))!.version).toBe(version);
    });

    it('expires: afterwards another token takes it and the old holder can neither renew nor write', async () => {
      const id = await created();
      await store.acquireLease(id, 'old', 200);
      expect(await store.acquireLease(id, 'new', 10_000)).toBe(false);
      await sut.until(() => store.acquireLease(id, 'new', 10_000), { stepMs: 50 });
      expect(await store.renewLease(id, 'old', 200)).toBe(false);
      expect(await store.updateSection(id, 'header', completedPatch(1, 1), { leaseToken: 'old' })).toBeNull();
      expect(await store.updateSection(id, 'header', completedPatch(1, 1), { leaseToken: 'new' })).not.toBeNull();
    });

    it('is extended only by renewLease: section writes leave its expiry alone', async () => {
      const id = await created();
      await store.acquireLease(id, 'owner', 300);
      let writes = 0;
      // Fails (times out) if the holder's writes kept the lease alive.
      await sut.until(
        async () => {
          const patch = { status: 'in_progress' as const, updated_at: new Date().toISOString() };
          if (await store.updateSection(id, 'header', patch, { leaseToken: 'owner' })) writes++;
          return store.acquireLease(id, 'thief', 10_000);
        },
        { stepMs: 50, maxMs: 5000 },
      );
      expect(writes).toBeGreaterThan(1);
    });

    it('tells every listener when its holder gives a lease up, and nothing when another token tries', async () => {
      const released: string[] = [];
      const stop = store.onLeaseReleased((threadId) => released.push(threadId));
      // Redis pub/sub does not replay: give a probe lease up until the subscription delivers.
      const probe = await created();
      await waitFor(
        async () => {
          await store.acquireLease(probe, 'p', 10_000);
          await store.releaseLease(probe, 'p');
          return released.includes(probe);
        },
        { timeoutMs: 10_000, intervalMs: 100 },
      );
      const id = await created();
      await store.acquireLease(id, 'a', 10_000);
      await store.releaseLease(id, 'b');
      await store.releaseLease(id, 'a');
      await store.releaseLease(id, 'a');
      // A release after them, announced in order after anything they announced (same workflow, same node).
      await store.acquireLease(id, 'c', 10_000);
      await store.releaseLease(id, 'c');
      await waitFor(() => released.filter((x) => x === id).length >= 2, { timeoutMs: 5_000 });
      expect(released.filter((x) => x === id)).toHaveLength(2);
      stop();
    });

    it('stays held while it is renewed', async () => {
      const id = await created();
      // Margins wide enough for a busy machine: renewed every 400 ms, 1.6 s in all, beyond the 1.5 s lease.
      await store.acquireLease(id, 'a', 1500);
      for (let i = 0; i < 4; i++) {
        await sut.advance(400);
        expect(await store.renewLease(id, 'a', 1500)).toBe(true);
      }
      expect(await store.acquireLease(id, 'b', 1500)).toBe(false);
    });
  });

  describe('concurrency: no lost updates', () => {
    it('50 uploads and 50 log lines at once while sections are written all survive', async () => {
      const id = await created();
      await store.acquireLease(id, 'loop', 10_000);
      const writes: Array<Promise<unknown>> = [];
      for (let i = 0; i < 50; i++) {
        writes.push(store.putExhibit(id, exhibit(`ex-${i}`), log(`upload ${i}`)));
        writes.push(store.appendLog(id, log(`note ${i}`)));
      }
      writes.push(store.updateSection(id, 'header', completedPatch(10, 10), { leaseToken: 'loop', log: log('section header') }));
      writes.push(store.updateSection(id, 'body', completedPatch(20, 20), { leaseToken: 'loop', log: log('section body') }));
      writes.push(store.transition(id, { from: ['generating'], to: 'paused', at: Date.now() }));
      await Promise.all(writes);

      const wf = (await store.get(id))!;
      expect(wf.exhibits.map((e) => e.exhibit_id).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `ex-${i}`).sort());
      expect(wf.version).toBe(1 + 103);
      expect(wf.logs).toHaveLength(100);
      const messages = new Set(wf.logs.map((l) => l.message));
      // 103 lines were written, 100 kept: the "Starting" line and two others fell off the front.
      expect(messages.has('section header') && messages.has('section body')).toBe(true);
      expect(wf).toMatchObject({ status: 'paused', completed_sections: 2, total_tokens: 30, completed_ms: 30 });
    });

    it('50 concurrent replacements of one exhibit leave exactly one entry', async () => {
      const id = await created();
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.putExhibit(id, exhibit('same', i))));
      expect(results.filter((r) => r!.replaced === null)).toHaveLength(1);
      const wf = (await store.get(id))!;
      expect(wf.exhibits).toHaveLength(1);
    });
  });

  describe('listActive', () => {
    it('lists live workflows and not deleted ones', async () => {
      const a = await created();
      const b = await created('completed');
      const c = await created();
      await store.delete(c);
      const active = await store.listActive();
      expect(active).toEqual(expect.arrayContaining([a, b]));
      expect(active).not.toContain(c);
      expect(new Set(active).size).toBe(active.length);
    });
  });

  describe('listGenerating', () => {
    it('lists exactly the workflows that are generating, following every status change', async () => {
      const a = await created();
      const paused = await created('paused');
      const done = await created('completed');
      const b = await created();
      const gone = await created();
      await store.delete(gone);
      let listed = await store.listGenerating();
      expect(listed).toEqual(expect.arrayContaining([a, b]));
      for (const id of [paused, done, gone]) expect(listed).not.toContain(id);
      expect(new Set(listed).size).toBe(listed.length);

      expect((await store.transition(a, { from: ['generating'], to: 'paused', at: Date.now() })).ok).toBe(true);
      expect((await store.transition(paused, { from: ['paused'], to: 'generating', at: Date.now() })).ok).toBe(true);
      expect((await store.transition(b, { from: ['generating'], to: 'completed', at: Date.now() })).ok).toBe(true);
      // A refused change to generating (a completed workflow cannot resume) lists nothing either.
      expect((await store.transition(done, { from: ['paused'], to: 'generating', at: Date.now() })).ok).toBe(false);
      listed = await store.listGenerating();
      expect(listed).toContain(paused);
      for (const id of [a, b, done, gone]) expect(listed).not.toContain(id);
    });

    it('with unleased, leaves out what a live lease holds, and lists it again once the lease is gone', async () => {
      const held = await created();
      const free = await created();
      const expiring = await created();
      expect(await store.acquireLease(held, 'elsewhere', 60_000)).toBe(true);
      expect(await store.acquireLease(expiring, 'elsewhere', 1000)).toBe(true);
      const listed = await store.listGenerating({ unleased: true });
      expect(listed).toContain(free);
      expect(listed).not.toContain(held);
      expect(listed).not.toContain(expiring);
      // Without the option a held lease changes nothing.
      expect(await store.listGenerating()).toEqual(expect.arrayContaining([held, free, expiring]));

      await store.releaseLease(held, 'elsewhere');
      expect(await store.listGenerating({ unleased: true })).toContain(held);
      await sut.until(async () => (await store.listGenerating({ unleased: true })).includes(expiring));
      expect(await store.listGenerating({ unleased: true })).toEqual(expect.arrayContaining([held, free, expiring]));
    });

    it('leaves out a generating workflow once it has expired', async () => {
      const short = await harness.make({ ttlSeconds: 1 });
      const wf = newWorkflow();
      await short.store.create(wf);
      expect(await short.store.listGenerating()).toContain(wf.head.thread_id);
      await short.until(async () => !(await short.store.listGenerating()).includes(wf.head.thread_id));
      expect(await short.store.getHead(wf.head.thread_id)).toBeNull();
    });
  });

  describe('subscribe', () => {

    it('reports every committed change with its kind and version, until unsubscribed', async () => {
      const seen: WorkflowChange[] = [];
      const stop = store.subscribe((c) => seen.push(c));
      await untilListening(seen);
      const id = await created();
      await store.appendLog(id, log('x'));
      await store.putExhibit(id, exhibit('a'));
      await store.transition(id, { from: ['generating'], to: 'paused', at: Date.now() });
      await store.acquireLease(id, 'l', 10_000);
      await store.updateSection(id, 'header', completedPatch(1, 1), { leaseToken: 'l' });
      await store.delete(id);
      const mine = () => seen.filter((c) => c.thread_id === id);
      await waitFor(() => mine().length === 6, { timeoutMs: 5000 });
      expect(mine()).toEqual([
        { thread_id: id, version: 1, kind: 'created' },
        { thread_id: id, version: 2, kind: 'log' },
        { thread_id: id, version: 3, kind: 'exhibit' },
        { thread_id: id, version: 4, kind: 'status' },
        { thread_id: id, version: 5, kind: 'section' },
        { thread_id: id, version: 6, kind: 'deleted' },
      ]);
      stop();
      // Another listener of the same store sees a later change; a listener still subscribed would have with it.
      const later: WorkflowChange[] = [];
      let stopLater = () => {};
      await new Promise<void>((ready) => (stopLater = store.subscribe((c) => later.push(c), ready)));
      const other = await created();
      await waitFor(() => later.some((c) => c.thread_id === other), { timeoutMs: 5000 });
      stopLater();
      expect(seen.some((c) => c.thread_id === other)).toBe(false);
    });

    it('a failed write announces nothing', async () => {
      const seen: WorkflowChange[] = [];
      const stop = store.subscribe((c) => seen.push(c));
      await untilListening(seen);
      const id = await created('paused');
      await store.transition(id, { from: ['generating'], to: 'paused', at: Date.now() });
      await store.updateSection(id, 'header', completedPatch(1, 1), { leaseToken: 'nobody' });
      await store.appendLog(id, log('marker'));
      await waitFor(() => seen.some((c) => c.thread_id === id && c.kind === 'log'), { timeoutMs: 5000 });
      stop();
      expect(seen.filter((c) => c.thread_id === id).map((c) => c.kind)).toEqual(['created', 'log']);
    });
  });

  describe('ping', () => {
    it('resolves while the store is reachable', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });

  describe('expiry (WORKFLOW_TTL_SECONDS after the last change)', () => {
    it('each kind of write restarts the expiry; a workflow left alone disappears with everything of it', async () => {
      const short = await harness.make({ ttlSeconds: 1 });
      const s = short.store;
      const wf = newWorkflow();
      const id = wf.head.thread_id;
      await s.create(wf);
      await s.acquireLease(id, 'l', 60_000);
      let status: WorkflowStatus = 'generating';
      const writes: Array<() => Promise<unknown>> = [
        () => s.appendLog(id, log('keep')),
        () => s.putExhibit(id, exhibit('a')),
        async () => {
          const to = status === 'generating' ? 'paused' : 'generating';
          const result = await s.transition(id, { from: [status], to, at: Date.now() });
          status = to;
          return result.ok;
        },
        () => s.updateSection(id, 'header', completedPatch(1, 1), { leaseToken: 'l' }),
      ];
      for (const write of writes) {
        // A workflow created now and never written again expires while only `write` keeps the other one alive.
        const idle = newWorkflow();
        await s.create(idle);
        await short.until(async () => {
          expect(await write()).toBeTruthy();
          return (await s.getHead(idle.head.thread_id)) === null;
        });
        expect(await s.getHead(id)).not.toBeNull();
        expect(await s.listActive()).toContain(id);
        expect(await s.listActive()).not.toContain(idle.head.thread_id);
      }

      await short.until(async () => (await s.getHead(id)) === null);
      expect(await s.get(id)).toBeNull();
      expect(await s.getIfChanged(id, -1)).toBeNull();
      expect(await s.appendLog(id, log('too late'))).toBe(false);
      expect(await s.acquireLease(id, 'other', 1000)).toBe(false);
      expect(await s.listActive()).not.toContain(id);
      expect(await s.listGenerating()).not.toContain(id);
    });

    it('reads and lease calls do not keep a workflow alive, and an expiry announces nothing', async () => {
      const short = await harness.make({ ttlSeconds: 1 });
      const seen: WorkflowChange[] = [];
      let stop = () => {};
      await new Promise<void>((ready) => (stop = short.store.subscribe((c) => seen.push(c), ready)));
      const wf = newWorkflow();
      const id = wf.head.thread_id;
      await short.store.create(wf);
      // Times out if any of these restarted the expiry.
      await short.until(
        async () => {
          await short.store.get(id);
          await short.store.getIfChanged(id, -1);
          await short.store.acquireLease(id, 'l', 60_000);
          await short.store.renewLease(id, 'l', 60_000);
          return (await short.store.getHead(id)) === null;
        },
        { maxMs: 3000 },
      );
      const marker = newWorkflow();
      await short.store.create(marker);
      await waitFor(() => seen.some((c) => c.thread_id === marker.head.thread_id), { timeoutMs: 5000 });
      stop();
      expect(seen.filter((c) => c.thread_id === id).map((c) => c.kind)).toEqual(['created']);
    });
  });
});
