-- A batch of reservations and the next routing snapshot, in one step (commit.lua and
-- snapshot.lua come before this). The reader planned the batch on the snapshot the previous
-- batch returned; the guard is that snapshot's sequence: if the sequence moved since (an
-- agent's readiness changed, an item became waiting), the view may miss a better pair, so
-- nothing is committed and only the fresh snapshot comes back. An empty guard commits
-- unconditionally (each group is still checked version by version).
--
-- KEYS: as snapshot.lua
-- ARGV: guard ('' for none), the snapshot arguments (six, then the held versions, counted),
-- then the commit arguments
-- Returns: {per group results, or false when the guard failed; the snapshot}
local res = false
if ARGV[1] == '' or (redis.call('GET', KEYS[1]) or '0') == ARGV[1] then
  res = commit(ARGV, 9 + tonumber(ARGV[8]))
end
return {res, snapshot(KEYS, ARGV, 2)}
