-- Queue depth in one consistent read.
-- KEYS: ready, delayed, leases
-- ARGV: number of bands
-- Returns {ready band 0, ..., ready band n-1, delayed, leased}.
local out = {}
for b = 0, tonumber(ARGV[1]) - 1 do
  out[#out + 1] = redis.call('ZCOUNT', KEYS[1], b * 1e13, '(' .. string.format('%.0f', (b + 1) * 1e13))
end
out[#out + 1] = redis.call('ZCARD', KEYS[2])
out[#out + 1] = redis.call('ZCARD', KEYS[3])
return out
