// The bearer token of this tab: kept in sessionStorage (gone when the tab closes, never in a URL), sent as
// Authorization on every API call. A 401 from any call tells the page to ask for a token again.

const KEY = 'document-monitor.token';
const listeners = new Set();

export function token() {
  try {
    return sessionStorage.getItem(KEY) || null;
  } catch {
    return null;
  }
}

export function setToken(value) {
  try {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  } catch {
    // Storage refused (a private mode): the token then lasts until the page is left.
  }
}

/** The Authorization header when signed in, else nothing. */
export function authHeaders() {
  const t = token();
  return t ? { Authorization: `Bearer ${t}` } : {};
}

/** The user a token names (its `sub`), for display only: the server checks the token, the page does not. */
export function userOfToken(value) {
  try {
    const payload = value.split('.')[1] ?? '';
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const sub = JSON.parse(json).sub;
    return typeof sub === 'string' ? sub : null;
  } catch {
    return null;
  }
}

/** Calls `listener(reason)` whenever the API answers 401. */
export function onUnauthorized(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function reportUnauthorized(reason) {
  for (const listener of listeners) listener(reason);
}
