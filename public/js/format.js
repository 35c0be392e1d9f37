// Small display helpers; every value they return is plain text (set with textContent).

export function duration(totalSeconds) {
  const s = Math.max(0, Math.round(totalSeconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export const cost = (usd) => `$${Number(usd).toFixed(4)}`;
export const integer = (n) => Number(n).toLocaleString('en-US');

export function time(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString('en-GB', { hour12: false });
}

/** A date and time for a list row, e.g. "7 Dec 2026, 17:51". */
export function dateTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short', hour12: false });
}

const TYPE_NAMES = { petition: 'Petition', letter: 'Letter', memo: 'Memo' };
export const documentType = (t) => TYPE_NAMES[t] ?? t;

const STATUS_NAMES = {
  idle: 'Idle',
  generating: 'Generating',
  paused: 'Paused',
  completed: 'Completed',
  error: 'Error',
  pending: 'Pending',
  in_progress: 'Writing…',
};
export const status = (s) => STATUS_NAMES[s] ?? s;
