-- Commit groups of record writes, each atomically and only if every record still has the
-- version the writer read (optimistic concurrency). The writer computed the new records and
-- the index updates in Go from the records it read; if the versions match, those records are
-- current, so the updates are right. Keys are built by the writer and all share one hash
-- tag, so the script also runs on a Redis Cluster.
--
-- commit(A, i) reads from A[i] on: the keys' base ({prefix}, as redisstore.go's keys), the
-- number of groups, then per group either a reservation in short form (below) or:
--   n writes, n x (key, expected version ('0': absent), new version, data ('': delete),
--     ready flag ('1' or '0' for agents, '' for items))
--   limit key ('' for none), limit (ZCARD of the key must be below it)
--   n index ops, n x (op, key, score, member), op one of zadd, zrem, sadd, srem, or log:
--     advance the sequence at key score and record it as member's score in key
--     op bump (key: the sequence) advances the sequence only: an item became waiting
--   n outcomes, n x (key, score, member, trim below ('' for none))
-- A reservation, the commonest group by far (an agent leaving ready for an item leaving
-- waiting, nothing else), comes in short form, the same writes and index updates from 11
-- arguments instead of 35: 'r', agent id, its expected version, new version, new data, due
-- time ('' for none), item id, its expected version, new version, new data, the item's
-- queue.
-- Returns per group: 1 committed, 0 a version moved, 2 the limit is reached.
--
-- The arguments are read in place by index, two passes per group (check, then write). The
-- index ops of committed groups are gathered by op and key and run as one variadic command
-- each at the end (or before a limit check reads an index), and the logged changes of one
-- run share one sequence number: the run is atomic, so a reader sees all of them or none,
-- and a batch of n reservations makes a few calls per key instead of n.
local function commit(A, i)
  local result = {}
  local base = A[i]
  i = i + 2
  -- pending[cmd][key] is the argument list of one command; order lists them as queued.
  local pending, order = {}, {}
  local seq = nil
  local function queue(cmd, key, a, b)
    local byKey = pending[cmd]
    if not byKey then
      byKey = {}
      pending[cmd] = byKey
    end
    local p = byKey[key]
    if not p then
      p = {cmd, key}
      byKey[key] = p
      order[#order + 1] = p
    end
    if a then p[#p + 1] = a end
    p[#p + 1] = b
  end
  local function flush()
    for _, p in ipairs(order) do
      -- unpack is bounded by the Lua stack: run long lists in slices.
      local step = (p[1] == 'ZADD') and 2000 or 1000
      for s = 3, #p, step do
        redis.call(p[1], p[2], unpack(p, s, math.min(s + step - 1, #p)))
      end
    end
    pending, order = {}, {}
  end
  for g = 1, tonumber(A[i - 1]) do
    if A[i] == 'r' then
      local aKey, iKey = base .. ':a:' .. A[i + 1], base .. ':i:' .. A[i + 6]
      local ok = 0
      if (redis.call('HGET', aKey, 'v') or '0') == A[i + 2] and (redis.call('HGET', iKey, 'v') or '0') == A[i + 7] then
        ok = 1
        redis.call('HSET', aKey, 'v', A[i + 3], 'd', A[i + 4], 'r', '0')
        redis.call('HSET', iKey, 'v', A[i + 8], 'd', A[i + 9])
        if not seq then seq = redis.call('INCR', base .. ':seq') end
        queue('ZADD', base .. ':readylog', seq, A[i + 1])
        if A[i + 5] ~= '' then queue('ZADD', base .. ':due', A[i + 5], A[i + 1]) end
        local id, q = A[i + 6], A[i + 10]
        queue('ZREM', base .. ':w', nil, id)
        queue('ZREM', base .. ':wq:' .. q, nil, id)
        queue('ZREM', base .. ':wc:' .. q, nil, id)
      end
      result[g] = ok
      i = i + 11
    else
      local nw = tonumber(A[i])
      local w0 = i + 1
      local ok = 1
      for k = w0, w0 + 5 * (nw - 1), 5 do
        local cur = redis.call('HGET', A[k], 'v') or '0'
        if cur ~= A[k + 1] then
          ok = 0
          break
        end
      end
      i = w0 + 5 * nw
      local lkey = A[i]
      if ok == 1 and lkey ~= '' then
        flush()
        if redis.call('ZCARD', lkey) >= tonumber(A[i + 1]) then ok = 2 end
      end
      local nx = tonumber(A[i + 2])
      local x0 = i + 3
      i = x0 + 4 * nx
      local no = tonumber(A[i])
      local o0 = i + 1
      i = o0 + 4 * no
      if ok == 1 then
        for k = w0, w0 + 5 * (nw - 1), 5 do
          if A[k + 3] == '' then
            redis.call('DEL', A[k])
          elseif A[k + 4] == '' then
            redis.call('HSET', A[k], 'v', A[k + 2], 'd', A[k + 3])
          else
            redis.call('HSET', A[k], 'v', A[k + 2], 'd', A[k + 3], 'r', A[k + 4])
          end
        end
        for k = x0, x0 + 4 * (nx - 1), 4 do
          local op = A[k]
          if op == 'zadd' then
            queue('ZADD', A[k + 1], A[k + 2], A[k + 3])
          elseif op == 'zrem' then
            queue('ZREM', A[k + 1], nil, A[k + 3])
          elseif op == 'sadd' then
            queue('SADD', A[k + 1], nil, A[k + 3])
          elseif op == 'srem' then
            queue('SREM', A[k + 1], nil, A[k + 3])
          elseif op == 'log' then
            if not seq then seq = redis.call('INCR', A[k + 2]) end
            queue('ZADD', A[k + 1], seq, A[k + 3])
          elseif op == 'bump' then
            if not seq then seq = redis.call('INCR', A[k + 1]) end
          else
            return redis.error_reply('commit: unknown index op ' .. op)
          end
        end
        for k = o0, o0 + 4 * (no - 1), 4 do
          redis.call('ZADD', A[k], A[k + 1], A[k + 2])
          if A[k + 3] ~= '' then redis.call('ZREMRANGEBYSCORE', A[k], '-inf', '(' .. A[k + 3]) end
        end
      end
      result[g] = ok
    end
  end
  flush()
  return result
end
