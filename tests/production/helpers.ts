import { SignJWT } from 'jose';
import { StoreUnavailableError } from '../../src/errors.js';
import { MemoryWorkflowStore } from '../../src/store/memory-store.js';
import type { WorkflowStore } from '../../src/store/workflow-store.js';

export const SECRET = 'test-secret-that-is-long-enough-for-hs256!';
export const OTHER_SECRET = 'another-secret-that-is-long-enough-for-hs256';

let counter = 0;
/** A user id unique to this test run. */
export const uniqueUser = (label = 'user') => `${label}-${process.pid}-${Date.now().toString(36)}-${++counter}`;

/** A signed HS256 token; `expiresIn` in seconds from now (negative: already expired). */
export async function token(
  sub: string | undefined,
  options: { secret?: string; expiresIn?: number; alg?: string; omitExp?: boolean } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT({}).setProtectedHeader({ alg: options.alg ?? 'HS256' }).setIssuedAt(now - 5);
  if (sub !== undefined) jwt = jwt.setSubject(sub);
  if (!options.omitExp) jwt = jwt.setExpirationTime(now + (options.expiresIn ?? 300));
  return jwt.sign(new TextEncoder().encode(options.secret ?? SECRET));
}

export const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });

export type StoreMode = 'ok' | 'unavailable' | 'broken';

/**
 * A memory store that can be switched to fail every call: `unavailable` as a Redis outage would
 * (StoreUnavailableError, 503), `broken` with an unexpected error (500).
 */
export function switchableStore(): { store: WorkflowStore; set(mode: StoreMode): void } {
  const real = new MemoryWorkflowStore({ ttlSeconds: 3600 });
  let mode: StoreMode = 'ok';
  const store = new Proxy(real, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (prop === 'subscribe' || prop === 'close') return value.bind(target);
      return (...args: unknown[]) => {
        if (mode === 'unavailable') return Promise.reject(new StoreUnavailableError(new Error('simulated outage')));
        if (mode === 'broken') return Promise.reject(new Error('simulated bug: secret internal detail'));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, set: (m) => (mode = m) };
}
