import type { ScriptDef } from './scripts.js';

/**
 * Lua scripts of the document indexes (see document-index.ts and docs/architecture-list.md). Every index key
 * shares the `{list}` hash tag, so each script runs in one Cluster slot; the workflow keys live in other
 * slots, so no script here touches them.
 *
 * `docs` (KEYS[1]) is a hash: thread id → the document's position, user, case, type, status and the
 * workflow version its status was indexed at, joined by tabs (no id may contain one). From it a script finds
 * the sorted sets a document is in: `all`, `s=<status>`, `t=<type>`, `c=<case>`, `u=<user>`,
 * `u=<user>/s=<status>`, `u=<user>/t=<type>`, `u=<user>/c=<case>` under the key base. Each set scores every
 * member 0 and holds positions, so its byte order (ZRANGE BYLEX) is the list order. `=` and `/` cannot occur
 * in a user or case id, so two documents' keys never collide.
 */

const INDEX_KEYS = `
local function parse(attrs)
  return string.match(attrs, '^([^\\t]*)\\t([^\\t]*)\\t([^\\t]*)\\t([^\\t]*)\\t([^\\t]*)\\t([^\\t]*)$')
end
local function index_keys(base, user, case, kind, status)
  local u = base .. 'u=' .. user
  return {
    base .. 'all', base .. 's=' .. status, base .. 't=' .. kind, base .. 'c=' .. case,
    u, u .. '/s=' .. status, u .. '/t=' .. kind, u .. '/c=' .. case,
  }
end
local function drop(docs, base, id)
  local attrs = redis.call('HGET', docs, id)
  if not attrs then return end
  local p, u, c, t, s = parse(attrs)
  for _, key in ipairs(index_keys(base, u, c, t, s)) do redis.call('ZREM', key, p) end
  redis.call('HDEL', docs, id)
end
`;

/**
 * KEYS docs, due; ARGV[1] key base, [2] thread id, [3] position, [4] user, [5] case, [6] type, [7] status,
 * [8] the workflow version this status is from, [9] the due score (epoch ms the workflow expires at, as far as
 * this write knows). Indexes the document, or moves it to its new status — only when [8] is newer than the
 * version indexed, so a late write never undoes a newer one. A different position under the same thread id
 * (an entry left by a workflow deleted while Redis failed) is replaced. Returns 1 when it changed the index.
 */
export const indexPut2 = {
  name: 'dmIndexPut2',
  numberOfKeys: 2,
  lua: `${INDEX_KEYS}
local base, id, position, status = ARGV[1], ARGV[2], ARGV[3], ARGV[7]
local version = tonumber(ARGV[8])
local changed = 0
local attrs = redis.call('HGET', KEYS[1], id)
if attrs then
  local p, u, c, t, s, v = parse(attrs)
  if p ~= position then
    drop(KEYS[1], base, id)
    attrs = nil
  elseif tonumber(v) < version then
    if s ~= status then
      for _, key in ipairs({ base .. 's=' .. s, base .. 'u=' .. u .. '/s=' .. s }) do redis.call('ZREM', key, p) end
      for _, key in ipairs({ base .. 's=' .. status, base .. 'u=' .. u .. '/s=' .. status }) do redis.call('ZADD', key, 0, p) end
    end
    redis.call('HSET', KEYS[1], id, table.concat({ p, u, c, t, status, ARGV[8] }, '\\t'))
    changed = 1
  end
end
if not attrs then
  for _, key in ipairs(index_keys(base, ARGV[4], ARGV[5], ARGV[6], status)) do redis.call('ZADD', key, 0, position) end
  redis.call('HSET', KEYS[1], id, table.concat({ position, ARGV[4], ARGV[5], ARGV[6], status, ARGV[8] }, '\\t'))
  changed = 1
end
redis.call('ZADD', KEYS[2], ARGV[9], id)
return changed
`,
} satisfies ScriptDef;

/** KEYS docs, due; ARGV[1] key base, [2..] thread ids. Removes every index entry of each. */
export const indexDrop2 = {
  name: 'dmIndexDrop2',
  numberOfKeys: 2,
  lua: `${INDEX_KEYS}
for i = 2, #ARGV do
  drop(KEYS[1], ARGV[1], ARGV[i])
  redis.call('ZREM', KEYS[2], ARGV[i])
end
return 1
`,
} satisfies ScriptDef;

/**
 * One page's candidates. KEYS[1] docs, KEYS[2..] the sets to read: disjoint (one per status of a query with
 * several), each in list order, merged here. ARGV[1] the position to start after ('' = the first), [2] how
 * many to find, [3] at most how many entries to look at in this call (a bound on the script's time: the caller
 * calls again from where it stopped), then the filters no chosen set covers, '' for none: [4] user, [5] case,
 * [6] type, [7] statuses as ',a,b,'. Returns {flat [position, indexed status, ...], where to resume or ''
 * once every set is exhausted}. Reads only; its cost is the entries looked at, whatever the sets' sizes.
 */
export const indexPage = {
  name: 'dmIndexPage',
  // The number of sets varies: the caller passes the key count first.
  numberOfKeys: -1,
  lua: `${INDEX_KEYS}
local want, cap = tonumber(ARGV[2]), tonumber(ARGV[3])
local fu, fc, ft, fs = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local chunk = math.max(want, 16)
local n = #KEYS - 1
local buf, at, from, done = {}, {}, {}, {}
for i = 1, n do
  buf[i], at[i], done[i] = {}, 1, false
  from[i] = ARGV[1] == '' and '-' or '(' .. ARGV[1]
end
local function peek(i)
  if at[i] > #buf[i] then
    if done[i] then return nil end
    buf[i] = redis.call('ZRANGE', KEYS[i + 1], from[i], '+', 'BYLEX', 'LIMIT', 0, chunk)
    at[i] = 1
    if #buf[i] < chunk then done[i] = true end
    if #buf[i] == 0 then return nil end
    from[i] = '(' .. buf[i][#buf[i]]
  end
  return buf[i][at[i]]
end
local found, looked, last = {}, 0, ''
while #found < want * 2 and looked < cap do
  local best, from_set = nil, 0
  for i = 1, n do
    local p = peek(i)
    if p and (best == nil or p < best) then best, from_set = p, i end
  end
  if best == nil then return { found, '' } end
  at[from_set] = at[from_set] + 1
  looked = looked + 1
  last = best
  local attrs = redis.call('HGET', KEYS[1], string.sub(best, 15))
  if attrs then
    local _, u, c, t, s = parse(attrs)
    if (fu == '' or u == fu) and (fc == '' or c == fc) and (ft == '' or t == ft)
      and (fs == '' or string.find(fs, ',' .. s .. ',', 1, true)) then
      found[#found + 1] = best
      found[#found + 1] = s
    end
  end
end
return { found, last }
`,
} satisfies ScriptDef;

export const LIST_SCRIPTS: readonly ScriptDef[] = [indexPut2, indexDrop2, indexPage];
