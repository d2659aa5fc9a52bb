-- Promotes due delayed jobs and expired leases to ready, then leases up to `max` ready jobs, in order.
-- KEYS: ready, delayed, leases, owners, prio, enqueued
-- ARGV: leaseMillis, tokenPrefix, batch, max
-- Each claimed job gets its own lease token, tokenPrefix .. ':' .. its position (1-based) in the reply.
-- Returns {nextDueMillis, jobId1, band1, jobId2, band2, ...}: nextDueMillis is how long until the
-- earliest delayed job is due (0 when one is due now), -1 when none is delayed. Times are Redis server time.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local batch = tonumber(ARGV[3])
local max = tonumber(ARGV[4])

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

local out = {-1}
local taken = redis.call('ZRANGE', KEYS[1], 0, max - 1)
local expiry = now + tonumber(ARGV[1])
for i, id in ipairs(taken) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZADD', KEYS[3], expiry, id)
  redis.call('HSET', KEYS[4], id, ARGV[2] .. ':' .. i)
  out[#out + 1] = id
  out[#out + 1] = band(id)
end
local due = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if #due > 0 then
  out[1] = math.max(0, tonumber(due[2]) - now)
end
return out
