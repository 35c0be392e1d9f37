import { COMPLETED_SUMS } from '../../domain/state-rules.js';
import { WRITE_IDS_KEPT } from '../workflow-store.js';
import { READ_FIELDS } from './codec.js';

/**
 * Lua scripts: each multi-step change of one workflow runs as one script, so it is atomic in Redis and no
 * concurrent change is lost. Names end with their key count (bullmq's convention). Every write script
 * takes the six keys of `KeySpace.all()` — meta, sections, exhibits, exhibit-order, logs, lease — and
 * ARGV[1..4] = ttl ms, now (ISO), change channel, thread id; its own arguments follow. It bumps
 * `version`, sets `updated_at`, refreshes the TTL of every workflow key (the lease keeps its own, shorter
 * one) and publishes the change, all inside the script. A write that takes a write id (the store contract's
 * "Retried writes") answers a copy whose id `replayed` finds as the first copy did, and `commit` remembers
 * the id: the meta field `writes` holds the newest ones as a JSON array of {id, version}, oldest first.
 *
 * The rules mirror src/domain/state-rules.ts; the shared contract suite checks both stores agree.
 */

export interface ScriptDef {
  name: string;
  numberOfKeys: number;
  lua: string;
}

const COMMON = `
local function push_log(entry)
  if entry ~= nil and entry ~= '' then
    redis.call('RPUSH', KEYS[5], entry)
    redis.call('LTRIM', KEYS[5], -100, -1)
  end
end
local function replayed(write_id)
  if write_id == nil or write_id == '' then return nil end
  local raw = redis.call('HGET', KEYS[1], 'writes')
  if not raw then return nil end
  for _, w in ipairs(cjson.decode(raw)) do
    if w[1] == write_id then return w[2] end
  end
  return nil
end
local function commit(kind, write_id)
  local version = redis.call('HINCRBY', KEYS[1], 'version', 1)
  redis.call('HSET', KEYS[1], 'updated_at', ARGV[2])
  if write_id ~= nil and write_id ~= '' then
    local raw = redis.call('HGET', KEYS[1], 'writes')
    local writes = raw and cjson.decode(raw) or {}
    table.insert(writes, { write_id, version })
    if #writes > ${WRITE_IDS_KEPT} then table.remove(writes, 1) end
    redis.call('HSET', KEYS[1], 'writes', cjson.encode(writes))
  end
  for i = 1, 5 do redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
  redis.call('PUBLISH', ARGV[3], cjson.encode({ thread_id = ARGV[4], version = version, kind = kind }))
  return version
end
`;

const script = (name: string, numberOfKeys: number, body: string): ScriptDef => ({
  name,
  numberOfKeys,
  lua: numberOfKeys === 6 ? COMMON + body : body,
});

/** Lua table literals of names: `{'a', 'b'}`, and of pairs `{{'a', 'b'}, ...}`. */
const luaList = (items: readonly string[]) => `{${items.map((i) => `'${i}'`).join(', ')}}`;
const luaPairs = (pairs: ReadonlyArray<readonly [string, string]>) => `{${pairs.map(luaList).join(', ')}}`;

/** ARGV[5] meta as a flat [field, value, ...] JSON array, [6] sections flat [id, json, ...], [7] logs JSON array. */
export const create6 = script('dmCreate6', 6, `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
redis.call('HSET', KEYS[1], unpack(cjson.decode(ARGV[5])))
local sections = cjson.decode(ARGV[6])
if #sections > 0 then redis.call('HSET', KEYS[2], unpack(sections)) end
for _, entry in ipairs(cjson.decode(ARGV[7])) do push_log(entry) end
commit('created')
return 1
`);

/**
 * ARGV[5] allowed current statuses joined by ',', [6] new status, [7] epoch ms of the change, [8] log JSON
 * or '', [9] error message (used when [6] is 'error'), [10] write id or ''. Returns {1, meta as flat array}
 * (a replayed write id included) or {0, current status} ({0} when the workflow does not exist).
 */
export const transition6 = script('dmTransition6', 6, `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {0} end
if replayed(ARGV[10]) then return {1, redis.call('HGETALL', KEYS[1])} end
if not string.find(',' .. ARGV[5] .. ',', ',' .. status .. ',', 1, true) then return {0, status} end
local to = ARGV[6]
local since = redis.call('HGET', KEYS[1], 'generating_since')
if since and to ~= 'generating' then
  local spent = tonumber(ARGV[7]) - tonumber(since)
  if spent < 0 then spent = 0 end
  redis.call('HINCRBYFLOAT', KEYS[1], 'active_ms', spent)
  redis.call('HDEL', KEYS[1], 'generating_since')
elseif (not since) and to == 'generating' then
  redis.call('HSET', KEYS[1], 'generating_since', ARGV[7])
end
redis.call('HSET', KEYS[1], 'status', to)
if to == 'error' then redis.call('HSET', KEYS[1], 'error_message', ARGV[9]) end
if to == 'generating' then redis.call('HDEL', KEYS[1], 'error_message') end
push_log(ARGV[8])
commit('status', ARGV[10])
return {1, redis.call('HGETALL', KEYS[1])}
`);

/**
 * ARGV[5] section id, [6] patch JSON, [7] lease token, [8] log JSON or '', [9] write id or ''. A replayed
 * write id answers the version its first copy left. Otherwise refused (0) unless the token holds
 * the lease — the fence that keeps a loop which lost its lease from writing — or when the section is missing.
 * The patch's fields replace the section's (any status but 'error' clears `error_message`), the section is
 * stamped with the version this write makes, and one entering or leaving 'completed' moves the head's sums
 * (`COMPLETED_SUMS`). Returns the version after the write.
 */
export const updateSection6 = script('dmUpdateSection6', 6, `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local replay = replayed(ARGV[9])
if replay then return replay end
if redis.call('GET', KEYS[6]) ~= ARGV[7] then return 0 end
local raw = redis.call('HGET', KEYS[2], ARGV[5])
if not raw then return 0 end
local old = cjson.decode(raw)
local s = cjson.decode(raw)
local p = cjson.decode(ARGV[6])
for field, value in pairs(p) do s[field] = value end
if p.error_message == nil and p.status ~= 'error' then s.error_message = nil end
s.version = tonumber(redis.call('HGET', KEYS[1], 'version')) + 1
local was_completed = old.status == 'completed'
local is_completed = s.status == 'completed'
if was_completed ~= is_completed then
  local sign, counted = 1, s
  if was_completed then sign, counted = -1, old end
  redis.call('HINCRBY', KEYS[1], 'completed_sections', sign)
  for _, sum in ipairs(${luaPairs(COMPLETED_SUMS)}) do
    redis.call('HINCRBYFLOAT', KEYS[1], sum[1], sign * (tonumber(counted[sum[2]]) or 0))
  end
end
redis.call('HSET', KEYS[2], ARGV[5], cjson.encode(s))
push_log(ARGV[8])
return commit('section', ARGV[9])
`);

/** ARGV[5] log JSON, [6] write id or ''. */
export const appendLog6 = script('dmAppendLog6', 6, `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if replayed(ARGV[6]) then return 1 end
push_log(ARGV[5])
commit('log', ARGV[6])
return 1
`);

/** ARGV[5] exhibit id, [6] exhibit JSON, [7] log JSON or ''. Returns false (missing) or {1, replaced JSON or ''}. */
export const putExhibit6 = script('dmPutExhibit6', 6, `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local old = redis.call('HGET', KEYS[3], ARGV[5])
redis.call('HSET', KEYS[3], ARGV[5], ARGV[6])
-- A replacement gets a new sequence number: exhibits are listed by upload time.
local seq = redis.call('HINCRBY', KEYS[1], 'exhibit_seq', 1)
redis.call('ZADD', KEYS[4], seq, ARGV[5])
push_log(ARGV[7])
commit('exhibit')
return {1, old or ''}
`);

/** Deletes every key of the workflow and announces it with the version it would have had next. */
export const delete6 = script('dmDelete6', 6, `
local version = redis.call('HGET', KEYS[1], 'version')
if not version then return 0 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
redis.call('PUBLISH', ARGV[3], cjson.encode({ thread_id = ARGV[4], version = tonumber(version) + 1, kind = 'deleted' }))
return 1
`);

/** KEYS meta, lease; ARGV token, ttl ms. Takes the lease when it is free, expired, or already ours. */
export const acquireLease2 = script('dmAcquireLease2', 2, `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return 1
`);

/** KEYS meta, lease; ARGV token, ttl ms. */
export const renewLease2 = script('dmRenewLease2', 2, `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
`);

/** KEYS lease; ARGV token. */
export const releaseLease1 = script('dmReleaseLease1', 1, `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], ARGV[3])
end
return 1
`);


/**
 * KEYS meta, sections, exhibits, exhibit-order, logs; ARGV[1] the version the caller knows, [2] how many of the
 * newest logs. Returns false (no such workflow), {meta} when the version is still ARGV[1], else one consistent
 * snapshot {meta, section JSONs, exhibit JSONs in upload order, log JSONs oldest first}: a poll's head read
 * and whole read in one round trip. meta is the values of `READ_FIELDS`, in that order.
 */
export const read5 = script('dmRead5', 5, `
local meta = redis.call('HMGET', KEYS[1], unpack(${luaList(READ_FIELDS)}))
if not meta[1] then return false end
if meta[${READ_FIELDS.indexOf('version') + 1}] == ARGV[1] then return {meta} end
local order = redis.call('ZRANGE', KEYS[4], 0, -1)
local exhibits = {}
if #order > 0 then exhibits = redis.call('HMGET', KEYS[3], unpack(order)) end
local logs = {}
local limit = tonumber(ARGV[2])
if limit > 0 then logs = redis.call('LRANGE', KEYS[5], -limit, -1) end
return {meta, redis.call('HVALS', KEYS[2]), exhibits, logs}
`);

/**
 * ARGV[5] exhibit id, [6] upload id, [7] result JSON (text_status, and text_chars / text_error /
 * page_count when set), [8] log JSON or ''. Applies only while the exhibit is still that upload and
 * `pending`. Returns 'written', 'already' (a result is there) or 'gone' (no such upload).
 */
export const setExhibitText6 = script('dmSetExhibitText6', 6, `
if redis.call('EXISTS', KEYS[1]) == 0 then return 'gone' end
local raw = redis.call('HGET', KEYS[3], ARGV[5])
if not raw then return 'gone' end
local e = cjson.decode(raw)
if e.upload_id ~= ARGV[6] then return 'gone' end
if e.text_status ~= 'pending' then return 'already' end
local r = cjson.decode(ARGV[7])
e.text_status = r.text_status
e.text_chars = r.text_chars
e.text_error = r.text_error
e.page_count = r.page_count
redis.call('HSET', KEYS[3], ARGV[5], cjson.encode(e))
push_log(ARGV[8])
commit('exhibit')
return 'written'
`);

export const ALL_SCRIPTS: readonly ScriptDef[] = [
  read5,
  create6,
  transition6,
  updateSection6,
  appendLog6,
  putExhibit6,
  delete6,
  acquireLease2,
  renewLease2,
  releaseLease1,
  setExhibitText6,
];
