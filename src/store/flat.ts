/**
 * `s` as one flat string. V8 keeps a concatenation (`a + b`, a template literal, the hex pairs of a UUID)
 * as a tree of "cons" strings until something reads its characters: a UUID is 14 heap objects, a log line
 * 2–4. For strings kept as long as a workflow lives (its id, its lease token, its log lines), every one of
 * those objects is copied out of the young generation and then walked by every full collection. Reading one
 * character flattens the tree in place, and the next young-generation collection keeps only the flat copy
 * (bench scenario 4: see the README's change log).
 */
export function flat(s: string): string {
  s.charCodeAt(0);
  return s;
}
