-- Moves a leased job to delayed, due at now + delayMillis, if the token still owns it.
-- KEYS: leases, owners, delayed
-- ARGV: jobId, token, delayMillis
-- Returns 1 when moved, 0 when the lease was lost.
local id = ARGV[1]
if redis.call('HGET', KEYS[2], id) ~= ARGV[2] then
  return 0
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREM', KEYS[1], id)
redis.call('HDEL', KEYS[2], id)
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), id)
return 1
