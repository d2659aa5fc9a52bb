-- Forgets a finished job if the token still owns it.
-- KEYS: leases, owners, prio, enqueued
-- ARGV: jobId, token
-- Returns 1 when removed, 0 when the lease was lost.
local id = ARGV[1]
if redis.call('HGET', KEYS[2], id) ~= ARGV[2] then
  return 0
end
redis.call('ZREM', KEYS[1], id)
redis.call('HDEL', KEYS[2], id)
redis.call('HDEL', KEYS[3], id)
redis.call('HDEL', KEYS[4], id)
return 1
