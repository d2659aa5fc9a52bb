-- Adds jobs to ready, each unless it is already ready, delayed or leased.
-- KEYS: ready, delayed, leases, prio, enqueued
-- ARGV: jobId1, band1, enqueuedAtMillis1, jobId2, ... (the enqueues an event loop gathered in one turn, or a
--       batch of the reconciler's jobs, re-added with their original score after Redis lost them)
-- Returns how many jobs were added (for one job: 1 when added, 0 when it was already scheduled).
local added = 0
for j = 1, #ARGV, 3 do
  local id = ARGV[j]
  local present = false
  for i = 1, 3 do
    if redis.call('ZSCORE', KEYS[i], id) then
      present = true
      break
    end
  end
  if not present then
    redis.call('ZADD', KEYS[1], tonumber(ARGV[j + 1]) * 1e13 + tonumber(ARGV[j + 2]), id)
    redis.call('HSET', KEYS[4], id, ARGV[j + 1])
    redis.call('HSET', KEYS[5], id, ARGV[j + 2])
    added = added + 1
  end
end
return added
