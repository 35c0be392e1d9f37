import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from '../helpers/app.js';
import { bearer, SECRET, token, uniqueUser } from '../production/helpers.js';
import { listen, openStream, type Listening, type SseStream } from './sse-client.js';

let t: TestApp;
let srv: Listening;
const streams: SseStream[] = [];
afterEach(async () => {
  for (const s of streams.splice(0)) s.close();
  await srv?.close();
  await t?.close();
});

/** Sections slow enough that no workflow completes (which ends its streams) during a test. */
async function setup(env: Record<string, string>) {
  t = await makeTestApp({ env: { SECTION_DELAY_MIN_MS: '60000', SECTION_DELAY_MAX_MS: '60000', ...env } });
  srv = await listen(t.app);
}

async function start(headers: Record<string, string> = {}, user = 'user-sse'): Promise<string> {
  const res = await request(t.app).post('/api/generate-petition').set(headers).send({ case_id: 'case-sse', user_id: user });
  expect(res.status).toBe(200);
  return res.body.thread_id as string;
}

async function open(id: string, headers: Record<string, string> = {}) {
  const s = await openStream(srv.port, id, headers);
  streams.push(s);
  return s;
}

describe('open event streams per client', () => {
  it('beyond SSE_MAX_PER_CLIENT: 429 TOO_MANY_STREAMS; a closed stream frees its place', async () => {
    await setup({ SSE_MAX_PER_CLIENT: '2' });
    const id = await start();
    const [a, b] = [await open(id), await open(id)];
    await Promise.all([a, b].map((s) => s.waitFor((e) => e.event === 'snapshot')));

    const refused = await request(`http://127.0.0.1:${srv.port}`).get(`/api/document/events/${id}`);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ detail: expect.stringContaining('2'), code: 'TOO_MANY_STREAMS' });
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);

    a.close();
    await a.ended;
    let again: SseStream | undefined;
    for (let tries = 0; tries < 50 && again?.status !== 200; tries++) {
      again?.close();
      again = await open(id);
    }
    expect(again?.status).toBe(200);
    await again?.waitFor((e) => e.event === 'snapshot');
  });

  it('counts each user separately with authentication on', async () => {
    await setup({ SSE_MAX_PER_CLIENT: '1', AUTH_JWT_SECRET: SECRET });
    const [alice, bob] = [uniqueUser('alice'), uniqueUser('bob')];
    const [aliceAuth, bobAuth] = [bearer(await token(alice)), bearer(await token(bob))];
    const [ida, idb] = [await start(aliceAuth, alice), await start(bobAuth, bob)];
    expect((await open(ida, aliceAuth)).status).toBe(200);
    expect((await open(idb, bobAuth)).status).toBe(200);
    expect((await open(ida, aliceAuth)).status).toBe(429);
  });
});

describe('a stream opened with a token', () => {
  it('ends with an `expired` event when the token expires; one with a later expiry stays open', async () => {
    await setup({ AUTH_JWT_SECRET: SECRET, AUTH_CLOCK_SKEW_SECONDS: '0' });
    const user = uniqueUser();
    const id = await start(bearer(await token(user)), user);
    const short = await open(id, bearer(await token(user, { expiresIn: 2 })));
    const long = await open(id, bearer(await token(user, { expiresIn: 600 })));
    expect([short.status, long.status]).toEqual([200, 200]);

    const expired = await short.waitFor((e) => e.event === 'expired', 0, 10_000);
    expect(expired.data).toEqual({ detail: expect.any(String) });
    await short.ended;

    const stillOpen = await Promise.race([long.ended.then(() => false), Promise.resolve(true)]);
    expect(stillOpen).toBe(true);
  });
});
