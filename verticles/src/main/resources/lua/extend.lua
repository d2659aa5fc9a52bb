-- Pushes leases' expiry to now + leaseMillis where the token still owns the job, many in one call.
-- KEYS: leases, owners
-- ARGV: leaseMillis, jobId1, token1, jobId2, token2, ...
-- Returns one entry per job, in order: 1 when extended, 0 when its lease was lost.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expiry = now + tonumber(ARGV[1])
local out = {}
for j = 2, #ARGV, 2 do
  local id = ARGV[j]
  if redis.call('HGET', KEYS[2], id) ~= ARGV[j + 1] then
    out[#out + 1] = 0
  else
    redis.call('ZADD', KEYS[1], expiry, id)
    out[#out + 1] = 1
  end
end
return out
