import { v4 as uuidv4 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Exhibit, ExhibitTextResult, LogEntry } from '../../src/domain/types.js';
import type { WorkflowChange, WorkflowStore } from '../../src/store/workflow-store.js';
import { waitFor } from '../helpers/app.js';
import { noticeIfSkipped } from '../helpers/redis.js';
import { memoryHarness, redisClusterHarness, redisHarness, type StoreHarness } from './harness.js';

// setExhibitText, run against every store like the main contract suite (tests/store/contract.test.ts).
const harnesses = [memoryHarness(), redisHarness(), redisClusterHarness()];
for (const h of harnesses) noticeIfSkipped(h.available, `the exhibit text contract on ${h.name}`);

const log = (message: string): LogEntry => ({ timestamp: new Date().toISOString(), level: 'info', message, agent: 'test' });

function exhibit(id: string, uploadId = uuidv4()): Exhibit {
  return {
    exhibit_id: id,
    filename: `${id} résumé.pdf`,
    stored_name: `${id}_r_sum_.pdf`,
    file_path: `/api/exhibits/x/${id}_r_sum_.pdf`,
    file_size: 26_214_400,
    mime_type: 'application/pdf',
    uploaded_at: new Date().toISOString(),
    upload_id: uploadId,
    text_status: 'pending',
  };
}

const READY: ExhibitTextResult = { text_status: 'ready', text_chars: 1234, page_count: 7 };

describe.each(harnesses)('setExhibitText: $name', (harness: StoreHarness) => {
  if (!harness.available) {
    it.skip('needs Redis', () => {});
    return;
  }
  let store: WorkflowStore;
  beforeAll(async () => {
    await harness.setup();
    store = (await harness.make()).store;
  });
  afterAll(() => harness.teardown());

  async function created(): Promise<string> {
    const thread_id = uuidv4();
    await store.create({
      head: { thread_id, case_id: 'c', user_id: 'u', document_type: 'letter', case_facts: null, status: 'completed', created_at: new Date().toISOString() },
      sections: [],
      logs: [],
    });
    return thread_id;
  }

  it('records the result of a pending upload with its log line, in place, as an exhibit change', async () => {
    const id = await created();
    const a = exhibit('a');
    await store.putExhibit(id, a);
    await store.putExhibit(id, exhibit('b'));
    const before = (await store.get(id))!;

    expect(await store.setExhibitText(id, 'a', a.upload_id!, READY, log('text of a read'))).toBe('written');

    const after = (await store.get(id))!;
    expect(after.version).toBe(before.version + 1);
    expect(after.exhibits.map((e) => e.exhibit_id)).toEqual(['a', 'b']);
    expect(after.exhibits[0]).toEqual({ ...a, text_status: 'ready', text_chars: 1234, page_count: 7 });
    expect(after.exhibits[1]).toEqual(before.exhibits[1]);
    expect(after.logs.at(-1)?.message).toBe('text of a read');
  });

  it('records a failure with its reason, and drops fields of the pending state it replaces', async () => {
    const id = await created();
    const a = exhibit('a');
    await store.putExhibit(id, a);
    expect(await store.setExhibitText(id, 'a', a.upload_id!, { text_status: 'failed', text_error: 'Could not read the PDF: “broken”' })).toBe('written');
    const [stored] = (await store.get(id))!.exhibits;
    expect(stored).toEqual({ ...a, text_status: 'failed', text_error: 'Could not read the PDF: “broken”' });
    expect(stored).not.toHaveProperty('text_chars');
  });

  it('answers already, changing nothing, once the upload has a result', async () => {
    const id = await created();
    const a = exhibit('a');
    await store.putExhibit(id, a);
    await store.setExhibitText(id, 'a', a.upload_id!, READY);
    const version = (await store.getHead(id))!.version;
    expect(await store.setExhibitText(id, 'a', a.upload_id!, { text_status: 'failed', text_error: 'late' })).toBe('already');
    expect((await store.getHead(id))!.version).toBe(version);
    expect((await store.get(id))!.exhibits[0]).toMatchObject({ text_status: 'ready', text_chars: 1234 });
  });

  it('answers gone, changing nothing, for a replaced upload (even of the same file name), an unknown exhibit or workflow', async () => {
    const id = await created();
    const first = exhibit('a');
    await store.putExhibit(id, first);
    const replacement = exhibit('a');
    await store.putExhibit(id, replacement);
    const version = (await store.getHead(id))!.version;
    expect(await store.setExhibitText(id, 'a', first.upload_id!, READY)).toBe('gone');
    expect(await store.setExhibitText(id, 'zz', first.upload_id!, READY)).toBe('gone');
    expect(await store.setExhibitText(uuidv4(), 'a', first.upload_id!, READY)).toBe('gone');
    expect((await store.getHead(id))!.version).toBe(version);
    expect((await store.get(id))!.exhibits).toEqual([replacement]);
    await store.delete(id);
    expect(await store.setExhibitText(id, 'a', replacement.upload_id!, READY)).toBe('gone');
  });

  it('announces the change like any write', async () => {
    const seen: WorkflowChange[] = [];
    const stop = store.subscribe((c) => seen.push(c));
    const id = await created();
    const a = exhibit('a');
    await store.putExhibit(id, a);
    // Redis delivers through pub/sub from the subscription on: wait until this workflow's changes arrive.
    await waitFor(async () => {
      await store.appendLog(id, log('probe'));
      return seen.some((c) => c.thread_id === id && c.kind === 'log');
    });
    const version = (await store.getHead(id))!.version;
    await store.setExhibitText(id, 'a', a.upload_id!, READY);
    await waitFor(() => seen.some((c) => c.thread_id === id && c.version === version + 1));
    stop();
    expect(seen.find((c) => c.thread_id === id && c.version === version + 1)?.kind).toBe('exhibit');
  });

  it('when 20 results race for one upload, exactly one is written', async () => {
    const id = await created();
    const a = exhibit('a');
    await store.putExhibit(id, a);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.setExhibitText(id, 'a', a.upload_id!, { text_status: 'ready', text_chars: i }, log(`result ${i}`))),
    );
    expect(answers.filter((x) => x === 'written')).toHaveLength(1);
    expect(answers.filter((x) => x === 'already')).toHaveLength(19);
    expect((await store.get(id))!.logs.filter((l) => l.message.startsWith('result '))).toHaveLength(1);
  });
});
