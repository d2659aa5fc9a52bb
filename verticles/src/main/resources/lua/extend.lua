-- Pushes a lease's expiry to now + leaseMillis if the token still owns the job.
-- KEYS: leases, owners
-- ARGV: jobId, token, leaseMillis
-- Returns 1 when extended, 0 when the lease was lost.
local id = ARGV[1]
if redis.call('HGET', KEYS[2], id) ~= ARGV[2] then
  return 0
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), id)
return 1
