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
-- KEYS: seq, ready log (agent -> seq), waiting (item -> order key), epoch
-- ARGV: since, offset, count, agent key prefix, item key prefix, a new epoch if none is set
-- Returns: {seq, {agent, version|nil, data|nil, ...}, {item, version, data, ...}, number
--           waiting, epoch}
local agents = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf')) do
  agents[#agents + 1] = id
  local r = redis.call('HMGET', ARGV[4] .. id, 'v', 'd', 'r')
  if r[3] == '1' then
    agents[#agents + 1] = r[1]
    agents[#agents + 1] = r[2]
  else
    agents[#agents + 1] = false
    agents[#agents + 1] = false
  end
end
local items = {}
local off = tonumber(ARGV[2])
for _, id in ipairs(redis.call('ZRANGE', KEYS[3], off, off + tonumber(ARGV[3]) - 1)) do
  local r = redis.call('HMGET', ARGV[5] .. id, 'v', 'd')
  items[#items + 1] = id
  items[#items + 1] = r[1]
  items[#items + 1] = r[2]
end
local epoch = redis.call('GET', KEYS[4])
if not epoch then
  epoch = ARGV[6]
  redis.call('SET', KEYS[4], epoch)
end
return {redis.call('GET', KEYS[1]) or '0', agents, items, redis.call('ZCARD', KEYS[3]), epoch}
