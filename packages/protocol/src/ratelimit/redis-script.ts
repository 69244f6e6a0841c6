/**
 * The Redis store's check, one script over every key of a check, so it is atomic: Redis runs
 * scripts one at a time. Time is Redis's own (TIME), never the application's.
 *
 * KEYS[i]: the TAT of one (policy, key), microseconds since the Unix epoch, as a string.
 * ARGV: interval_us, burst, cost of KEYS[1], then of KEYS[2], …
 * Admits only when every key admits (the same test as gcra.ts `admits`), then stores every new
 * TAT with an expiry at that TAT (past it the key is back at full quota and the row is
 * useless). Returns { admitted 1|0, now_us, the stored TAT of each key } as integer replies
 * (cheaper to build and to parse than strings); the reply table is the only table built per
 * call, since this runs on every check (bench/scenarios/ratelimit.ts). Numbers stay below 2^53,
 * so Lua's doubles hold them exactly and Redis converts them to integers without loss; %.0f
 * prints a stored TAT whole.
 */
export const CHECK_SCRIPT = `
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local out = { 1, now }
for i = 1, #KEYS do
  local tat = tonumber(redis.call('GET', KEYS[i]) or 0)
  local interval = tonumber(ARGV[3 * i - 2])
  out[i + 2] = tat
  if math.max(tat, now) + interval * ARGV[3 * i] - now > interval * ARGV[3 * i - 1] then out[1] = 0 end
end
if out[1] == 1 then
  for i = 1, #KEYS do
    local interval = tonumber(ARGV[3 * i - 2])
    local fresh = math.max(out[i + 2], now) + interval * ARGV[3 * i]
    redis.call('SET', KEYS[i], string.format('%.0f', fresh), 'PX', math.max(1, math.ceil((fresh - now) / 1000)))
  end
end
return out
`;
