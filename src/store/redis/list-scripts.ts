import type { ScriptDef } from './scripts.js';

/**
 * Lua scripts of the document indexes (see document-index.ts and docs/architecture-list.md). Every index key
 * shares the `{list}` hash tag, so each script runs in one Cluster slot; the workflow keys live in other
 * slots, so only the page script, and only on a single server, reads them.
 *
 * `docs` (KEYS[1]) is a hash: thread id → the document's indexed status, the workflow version that status is
 * from, its position, user, case and type, joined by tabs (no id may contain one; the status first, the one
 * field a page needs of every entry). From it a script finds the sorted sets a document is in: `all`,
 * `s=<status>`, `t=<type>`, `c=<case>`, `u=<user>`, `u=<user>/s=<status>`, `u=<user>/t=<type>`,
 * `u=<user>/c=<case>` under the key base. Each set scores every member 0 and holds positions, so its byte
 * order (ZRANGE BYLEX) is the list order. `=` and `/` cannot occur in a user or case id, so two documents'
 * keys never collide.
 */

/** The head fields a page reads of each candidate, in this order; no `status`: the workflow is gone. */
export const SUMMARY_FIELDS = [
  'status', 'case_id', 'user_id', 'document_type', 'created_at', 'updated_at', 'total_sections', 'completed_sections',
  'version',
] as const;

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
`;

/**
 * KEYS docs, due; ARGV[1] key base, [2] thread id, [3] position, [4] user, [5] case, [6] type, [7] status,
 * [8] the workflow version this status is from, [9] the due score (epoch ms the workflow expires at, as far as
 * this write knows). Indexes the document, or moves it to its new status — only when [8] is newer than the
 * version indexed, so a late write never undoes a newer one. A document's position, user, case and type never
 * change: a second create of the same thread id (refused by the workflow script) changes nothing here either.
 * Returns 1 when it changed the index.
 */
export const indexPut2 = {
  name: 'dmIndexPut2',
  numberOfKeys: 2,
  lua: `${INDEX_KEYS}
local base, id, status = ARGV[1], ARGV[2], ARGV[7]
local changed = 0
local attrs = redis.call('HGET', KEYS[1], id)
if attrs then
  local s, v, p, u, c, t = parse(attrs)
  if tonumber(v) < tonumber(ARGV[8]) then
    if s ~= status then
      for _, key in ipairs({ base .. 's=' .. s, base .. 'u=' .. u .. '/s=' .. s }) do redis.call('ZREM', key, p) end
      for _, key in ipairs({ base .. 's=' .. status, base .. 'u=' .. u .. '/s=' .. status }) do redis.call('ZADD', key, 0, p) end
    end
    redis.call('HSET', KEYS[1], id, table.concat({ status, ARGV[8], p, u, c, t }, '\\t'))
    changed = 1
  end
else
  for _, key in ipairs(index_keys(base, ARGV[4], ARGV[5], ARGV[6], status)) do redis.call('ZADD', key, 0, ARGV[3]) end
  redis.call('HSET', KEYS[1], id, table.concat({ status, ARGV[8], ARGV[3], ARGV[4], ARGV[5], ARGV[6] }, '\\t'))
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
  local attrs = redis.call('HGET', KEYS[1], ARGV[i])
  if attrs then
    local s, _, p, u, c, t = parse(attrs)
    for _, key in ipairs(index_keys(ARGV[1], u, c, t, s)) do redis.call('ZREM', key, p) end
    redis.call('HDEL', KEYS[1], ARGV[i])
  end
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
 * [6] type, [7] statuses as ',a,b,'. Its cost is the entries looked at, whatever the sets' sizes.
 *
 * Returns {rows, where to resume or '' once every set is exhausted}: one line per candidate, `position TAB
 * indexed status`, as one string (a reply of a few bulk strings costs the caller far less to read than one
 * of hundreds). On a single server (not a Cluster, where they live in other slots) the script also reads each
 * candidate's workflow head, saving the caller a round trip and a command per candidate: given ARGV[8] and [9],
 * the text before and after the thread id in a workflow's meta key, the values of `SUMMARY_FIELDS` follow on
 * the candidate's line (tab-separated, '' for an absent one; all '' when the workflow is gone).
 */
export const indexPage = {
  name: 'dmIndexPage',
  // The number of sets varies: the caller passes the key count first.
  numberOfKeys: -1,
  lua: `${INDEX_KEYS}
local want, cap = tonumber(ARGV[2]), tonumber(ARGV[3])
local fu, fc, ft, fs = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local filtered = fu ~= '' or fc ~= '' or ft ~= '' or fs ~= ''
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
local fields = { ${SUMMARY_FIELDS.map((f) => `'${f}'`).join(', ')} }
local nfields = ARGV[8] and #fields or 0
local rows, looked, last, exhausted = {}, 0, '', false
while #rows < want and looked < cap and not exhausted do
  -- The next candidates in list order, as many as rows are missing; their attributes in one command.
  local batch = {}
  while #batch < want - #rows and looked < cap do
    local best, from_set = nil, 0
    for i = 1, n do
      local p = peek(i)
      if p and (best == nil or p < best) then best, from_set = p, i end
    end
    if best == nil then
      exhausted = true
      break
    end
    at[from_set] = at[from_set] + 1
    looked = looked + 1
    last = best
    batch[#batch + 1] = best
  end
  if #batch == 0 then break end
  local ids = {}
  for i, p in ipairs(batch) do ids[i] = string.sub(p, 15) end
  local attrs = redis.call('HMGET', KEYS[1], unpack(ids))
  for i, p in ipairs(batch) do
    local a = attrs[i]
    if a then
      local s, ok = string.match(a, '^[^\\t]*'), true
      if filtered then
        local _, _, _, u, c, t = parse(a)
        ok = (fu == '' or u == fu) and (fc == '' or c == fc) and (ft == '' or t == ft)
          and (fs == '' or string.find(fs, ',' .. s .. ',', 1, true) ~= nil)
      end
      if ok then
        if nfields > 0 then
          local values = redis.call('HMGET', ARGV[8] .. ids[i] .. ARGV[9], unpack(fields))
          for j = 1, nfields do
            if not values[j] then values[j] = '' end
          end
          rows[#rows + 1] = p .. '\\t' .. s .. '\\t' .. table.concat(values, '\\t')
        else
          rows[#rows + 1] = p .. '\\t' .. s
        end
      end
    end
  end
end
if exhausted then last = '' end
return { table.concat(rows, '\\n'), last }
`,
} satisfies ScriptDef;

export const LIST_SCRIPTS: readonly ScriptDef[] = [indexPut2, indexDrop2, indexPage];
