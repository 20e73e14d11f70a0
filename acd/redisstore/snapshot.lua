-- The routing snapshot, read in one step:
--   * the agents whose record or readiness changed since the reader's last snapshot (every
--     commit touching a ready agent advances a sequence and logs the agent with it), each
--     with its record if it is ready now;
--   * a page of the waiting items in routing order, with their records.
-- Records come with their versions; the reader decodes only those its cache lacks. A reader
-- that starts asks from 0 and gets every agent ever logged. The epoch names this generation
-- of the data: if Redis lost it (restarted without persistence, flushed), the first snapshot
-- after sets a new one, and every reader whose cache holds another epoch starts over.
--
-- An item's data is left out (false) when the reader says it holds that version: the
-- reader names the versions of the last page it read, nearly all of which the next page
-- holds again, and versions are never reused, so a version names one record's content.
--
-- snapshot(K, A, i): K the keys seq, ready log (agent -> seq), waiting (item -> order key),
-- epoch; A[i..i+5]: since, offset, count, agent key prefix, item key prefix, a new epoch if
-- none is set; A[i+6]: n, then n item versions the reader holds.
-- Returns: {seq, {agent, version|nil, data|nil, ...}, {item, version, data|false, ...},
--           number waiting, epoch}
local function snapshot(K, A, i)
  local agents = {}
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', K[2], '(' .. A[i], '+inf')) do
    agents[#agents + 1] = id
    local key = A[i + 3] .. id
    -- The data only of the ready: most changes in a burst are agents leaving ready.
    local r = redis.call('HMGET', key, 'v', 'r')
    if r[2] == '1' then
      agents[#agents + 1] = r[1]
      agents[#agents + 1] = redis.call('HGET', key, 'd')
    else
      agents[#agents + 1] = false
      agents[#agents + 1] = false
    end
  end
  local have = {}
  for j = i + 7, i + 6 + tonumber(A[i + 6]) do have[A[j]] = true end
  local items = {}
  local off = tonumber(A[i + 1])
  for _, id in ipairs(redis.call('ZRANGE', K[3], off, off + tonumber(A[i + 2]) - 1)) do
    local key = A[i + 4] .. id
    local v = redis.call('HGET', key, 'v')
    items[#items + 1] = id
    items[#items + 1] = v
    if v and have[v] then
      items[#items + 1] = false
    else
      items[#items + 1] = redis.call('HGET', key, 'd')
    end
  end
  local epoch = redis.call('GET', K[4])
  if not epoch then
    epoch = A[i + 5]
    redis.call('SET', K[4], epoch)
  end
  return {redis.call('GET', K[1]) or '0', agents, items, redis.call('ZCARD', K[3]), epoch}
end
