import http from 'node:http';
import v8 from 'node:v8';
import vm from 'node:vm';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryWorkflowStore } from '../../src/store/memory-store.js';
import type { WorkflowChange } from '../../src/store/workflow-store.js';
import { makeTestApp, waitFor, type TestApp } from '../helpers/app.js';
import { GatedWriter } from '../helpers/writers.js';
import { listen, openStream, type Listening } from './sse-client.js';

/** Counts the store listeners that are still subscribed. */
class CountingStore extends MemoryWorkflowStore {
  active = 0;
  override subscribe(listener: (change: WorkflowChange) => void): () => void {
    const off = super.subscribe(listener);
    this.active++;
    let done = false;
    return () => {
      if (!done) this.active--;
      done = true;
      off();
    };
  }
}

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

async function heapAfterGc(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
}

/** Opens a stream and drops it: half after the snapshot arrived, half as soon as the response started. */
async function openAndDrop(port: number, id: string, waitForSnapshot: boolean): Promise<void> {
  const s = await openStream(port, id);
  expect(s.status).toBe(200);
  if (waitForSnapshot) await s.waitFor((e) => e.event === 'snapshot');
  s.close();
}

async function connections(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}

let t: TestApp;
let srv: Listening;
afterAll(async () => {
  await srv?.close();
  await t?.close();
});

describe('event stream clean-up', () => {
  it('leaves no listener, client, buffer or memory behind after 1,000 streams are opened and dropped', async () => {
    const store = new CountingStore({ ttlSeconds: 3600 });
    const writer = new GatedWriter(); // never released: the workflows keep generating and their streams stay open
    // Rate limits would refuse 1,000 streams from one address in a minute; they are not what is measured here.
    t = await makeTestApp({ env: { RATE_LIMIT_READ_MAX: '0' }, overrides: { store, writer } });
    srv = await listen(t.app);
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await request(t.app).post('/api/generate-petition').send({ case_id: `leak-${i}`, user_id: 'u' });
      ids.push(res.body.thread_id);
    }

    const round = async (count: number) => {
      for (let i = 0; i < count; i += 100) {
        await Promise.all(
          Array.from({ length: Math.min(100, count - i) }, (_, k) => openAndDrop(srv.port, ids[(i + k) % ids.length]!, k % 2 === 0)),
        );
      }
      await waitFor(async () => t.deps.events.stats().clients === 0 && (await connections(srv.server)) === 0);
    };

    // Warm-up: lazily loaded code and pools are allocated once, outside the measurement.
    await round(100);
    const baseline = await heapAfterGc();
    const listenersBefore = store.active;

    // Streams really were open: while some are connected the hub counts them and listens to the store.
    const held = await Promise.all(ids.map((id) => openStream(srv.port, id)));
    await Promise.all(held.map((s) => s.waitFor((e) => e.event === 'snapshot')));
    expect(t.deps.events.stats()).toEqual({ clients: 10, threads: 10, subscribed: true });
    expect(store.active).toBe(1); // one subscription for the whole process, not one per client
    held.forEach((s) => s.close());

    await round(1000);

    expect(t.deps.events.stats()).toEqual({ clients: 0, threads: 0, subscribed: false });
    expect(store.active).toBe(listenersBefore);
    expect(store.active).toBe(0);
    const growth = (await heapAfterGc()) - baseline;
    // 1,000 leaked responses with their sockets would hold well over 10 MB; normal noise is far below 8 MB.
    expect(growth).toBeLessThan(8 * 1024 * 1024);
    console.info(`heap growth after 1,000 streams: ${(growth / 1024).toFixed(0)} KiB`);
  });
});
