-- Removes a job from every set and hash, whatever holds it.
-- KEYS: ready, delayed, leases, owners, prio, enqueued
-- ARGV: jobId
for i = 1, 3 do
  redis.call('ZREM', KEYS[i], ARGV[1])
end
for i = 4, 6 do
  redis.call('HDEL', KEYS[i], ARGV[1])
end
return 1
