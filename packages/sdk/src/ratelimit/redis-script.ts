/**
 * The Redis store's check, one script over every key of a check, so it is atomic: Redis runs
 * scripts one at a time. Time is Redis's own (TIME), never the application's.
 *
 * KEYS[i]: the TAT of one (policy, key), microseconds since the Unix epoch, as a string.
 * ARGV: interval_us, burst, cost of KEYS[1], then of KEYS[2], …
 * Admits only when every key admits (the same test as gcra.ts `admits`), then stores every new
 * TAT with an expiry at that TAT (past it the key is back at full quota and the row is
 * useless). Returns { admitted 1|0, now_us, the stored TAT of each key }, numbers as strings.
 * Numbers stay below 2^53, so Lua's doubles hold them exactly; %.0f prints them whole.
 */
export const CHECK_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local admitted = 1
local stored = {}
local fresh = {}
for i = 1, #KEYS do
  local interval = tonumber(ARGV[3 * i - 2])
  local burst = tonumber(ARGV[3 * i - 1])
  local cost = tonumber(ARGV[3 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  stored[i] = tat
  fresh[i] = math.max(tat, now) + interval * cost
  if fresh[i] - now > interval * burst then admitted = 0 end
end
if admitted == 1 then
  for i = 1, #KEYS do
    local ttl = math.max(1, math.ceil((fresh[i] - now) / 1000))
    redis.call('SET', KEYS[i], string.format('%.0f', fresh[i]), 'PX', ttl)
  end
end
local out = { tostring(admitted), string.format('%.0f', now) }
for i = 1, #KEYS do out[#out + 1] = string.format('%.0f', stored[i]) end
return out
`;
