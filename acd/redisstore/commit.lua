-- Commit groups of record writes, each atomically and only if every record still has the
-- version the writer read (optimistic concurrency). The writer computed the new records and
-- the index updates in Go from the records it read; if the versions match, those records are
-- current, so the updates are right. Keys are built by the writer and all share one hash
-- tag, so the script also runs on a Redis Cluster.
--
-- ARGV: number of groups, then per group:
--   n writes, n x (key, expected version ('0': absent), new version, data ('': delete),
--     ready flag ('1' or '0' for agents, '' for items))
--   limit key ('' for none), limit (ZCARD of the key must be below it)
--   n index ops, n x (op, key, score, member), op one of zadd, zrem, sadd, srem, or log:
--     advance the sequence at key score and record it as member's score in key
--   n outcomes, n x (key, score, member, trim below ('' for none))
-- Returns per group: 1 committed, 0 a version moved, 2 the limit is reached.
--
-- The arguments are read in place by index, two passes per group (check, then write), so a
-- large batch of reservations builds no tables.
local result = {}
local i = 2
for g = 1, tonumber(ARGV[1]) do
  local nw = tonumber(ARGV[i])
  local w0 = i + 1
  local ok = 1
  for k = w0, w0 + 5 * (nw - 1), 5 do
    local cur = redis.call('HGET', ARGV[k], 'v') or '0'
    if cur ~= ARGV[k + 1] then
      ok = 0
      break
    end
  end
  i = w0 + 5 * nw
  local lkey = ARGV[i]
  if ok == 1 and lkey ~= '' and redis.call('ZCARD', lkey) >= tonumber(ARGV[i + 1]) then ok = 2 end
  local nx = tonumber(ARGV[i + 2])
  local x0 = i + 3
  i = x0 + 4 * nx
  local no = tonumber(ARGV[i])
  local o0 = i + 1
  i = o0 + 4 * no
  if ok == 1 then
    for k = w0, w0 + 5 * (nw - 1), 5 do
      if ARGV[k + 3] == '' then
        redis.call('DEL', ARGV[k])
      elseif ARGV[k + 4] == '' then
        redis.call('HSET', ARGV[k], 'v', ARGV[k + 2], 'd', ARGV[k + 3])
      else
        redis.call('HSET', ARGV[k], 'v', ARGV[k + 2], 'd', ARGV[k + 3], 'r', ARGV[k + 4])
      end
    end
    for k = x0, x0 + 4 * (nx - 1), 4 do
      local op = ARGV[k]
      if op == 'zadd' then
        redis.call('ZADD', ARGV[k + 1], ARGV[k + 2], ARGV[k + 3])
      elseif op == 'zrem' then
        redis.call('ZREM', ARGV[k + 1], ARGV[k + 3])
      elseif op == 'sadd' then
        redis.call('SADD', ARGV[k + 1], ARGV[k + 3])
      elseif op == 'srem' then
        redis.call('SREM', ARGV[k + 1], ARGV[k + 3])
      elseif op == 'log' then
        redis.call('ZADD', ARGV[k + 1], redis.call('INCR', ARGV[k + 2]), ARGV[k + 3])
      else
        return redis.error_reply('commit: unknown index op ' .. op)
      end
    end
    for k = o0, o0 + 4 * (no - 1), 4 do
      redis.call('ZADD', ARGV[k], ARGV[k + 1], ARGV[k + 2])
      if ARGV[k + 3] ~= '' then redis.call('ZREMRANGEBYSCORE', ARGV[k], '-inf', '(' .. ARGV[k + 3]) end
    end
  end
  result[g] = ok
end
return result
