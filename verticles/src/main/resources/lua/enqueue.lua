-- Adds a job to ready unless it is already ready, delayed or leased.
-- KEYS: ready, delayed, leases, prio, enqueued
-- ARGV: jobId, band, enqueuedAtMillis
-- Returns 1 when added, 0 when the job was already scheduled.
local id = ARGV[1]
for i = 1, 3 do
  if redis.call('ZSCORE', KEYS[i], id) then
    return 0
  end
end
redis.call('ZADD', KEYS[1], tonumber(ARGV[2]) * 1e13 + tonumber(ARGV[3]), id)
redis.call('HSET', KEYS[4], id, ARGV[2])
redis.call('HSET', KEYS[5], id, ARGV[3])
return 1
