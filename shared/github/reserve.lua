-- Reserve one request from a GitHub user's budget for one resource, atomically across fetchers.
-- KEYS[1]: hash with the last known `remaining`, `reset` (epoch s) and `limit` from GitHub's headers
-- ARGV[1]: now (epoch s), ARGV[2]: requests to keep unused (the reserve), ARGV[3]: cost to reserve
-- Returns {1, 0} when the request may go, {0, reset} when the budget is spent until `reset`.
local now = tonumber(ARGV[1])
local reserve = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local remaining = tonumber(redis.call('HGET', KEYS[1], 'remaining'))
local reset = tonumber(redis.call('HGET', KEYS[1], 'reset'))
if remaining == nil or reset == nil or reset <= now then
  -- Unknown state or a window that has ended: the response's headers will tell the truth.
  return {1, 0}
end
if remaining - cost < reserve then
  return {0, reset}
end
redis.call('HINCRBY', KEYS[1], 'remaining', -cost)
return {1, 0}
