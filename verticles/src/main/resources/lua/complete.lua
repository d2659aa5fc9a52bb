-- Forgets finished jobs whose tokens still own them, many in one call.
-- KEYS: leases, owners, prio, enqueued
-- ARGV: jobId1, token1, jobId2, token2, ...
-- Returns one entry per job, in order: 1 when removed, 0 when its lease was lost.
local out = {}
for j = 1, #ARGV, 2 do
  local id = ARGV[j]
  if redis.call('HGET', KEYS[2], id) ~= ARGV[j + 1] then
    out[#out + 1] = 0
  else
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
    redis.call('HDEL', KEYS[3], id)
    redis.call('HDEL', KEYS[4], id)
    out[#out + 1] = 1
  end
end
return out
