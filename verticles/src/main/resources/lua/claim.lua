-- Promotes due delayed jobs and expired leases to ready, then leases the first ready job.
-- KEYS: ready, delayed, leases, owners, prio, enqueued
-- ARGV: leaseMillis, token, batch
-- Returns {jobId, band}, or nil when nothing is ready. Times are Redis server time.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local batch = tonumber(ARGV[3])

local function band(id)
  return tonumber(redis.call('HGET', KEYS[5], id) or '2')
end

local function toReady(id)
  local enqueued = tonumber(redis.call('HGET', KEYS[6], id) or now)
  redis.call('ZADD', KEYS[1], band(id) * 1e13 + enqueued, id)
end

for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, batch)) do
  redis.call('ZREM', KEYS[2], id)
  toReady(id)
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, batch)) do
  redis.call('ZREM', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
  toReady(id)
end

local first = redis.call('ZRANGE', KEYS[1], 0, 0)
if #first == 0 then
  return nil
end
local id = first[1]
redis.call('ZREM', KEYS[1], id)
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[1]), id)
redis.call('HSET', KEYS[4], id, ARGV[2])
return {id, band(id)}
