import { StoreUnavailableError } from '../../errors.js';

/**
 * Redis replies that mean "the server cannot serve right now" rather than "the command is wrong": a server
 * still loading its data, a busy script, a cluster in failover, a replica that cannot take writes.
 */
const TRANSIENT_REPLIES = /^(LOADING|BUSY|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|READONLY|MOVED|ASK)\b/;

/**
 * Maps an ioredis failure to the store contract: anything about reaching Redis (closed or unwritable
 * connection, command timeout, retries exhausted, transient server state) becomes `StoreUnavailableError`
 * (503, runner backoff); a genuine error reply (a bug) is passed on unchanged.
 */
export function toStoreError(err: unknown): unknown {
  if (err instanceof StoreUnavailableError) return err;
  if (!(err instanceof Error)) return new StoreUnavailableError(err);
  if (err.name === 'ReplyError') return TRANSIENT_REPLIES.test(err.message) ? new StoreUnavailableError(err) : err;
  // Connection is closed / Stream isn't writeable / Command timed out / MaxRetriesPerRequestError / ECONNREFUSED.
  return new StoreUnavailableError(err);
}

/** Runs a Redis call with the error mapping applied. */
export async function guarded<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw toStoreError(err);
  }
}
