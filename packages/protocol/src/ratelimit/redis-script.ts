/**
 * The Redis store's check, one script over every key of a check, so it is atomic: Redis runs
 * scripts one at a time. Time is Redis's own (TIME), never the application's.
 *
 * The policies' parameters are written into the script (decision 058): a check sends only its
 * keys, and its costs unless every cost is 1. So a script exists per shape of check (the
 * interval and burst of each key in order, and whether costs are sent); its text, and so its
 * SHA, changes with any parameter, which makes a changed policy take effect on the next check
 * (the new text is loaded once per Redis server, by EVAL on NOSCRIPT).
 *
 * KEYS[i]: the TAT of one (policy, key), microseconds since the Unix epoch, as a string.
 * ARGV[i] (when costs are sent): the cost of KEYS[i].
 * Admits only when every key admits (the same test as gcra.ts `admits`), then stores every new
 * TAT with an expiry at that TAT (past it the key is back at full quota and the row is
 * useless). Returns { the stored TAT of each key, admitted 1|0, now_us } as integer replies
 * (cheaper to build and to parse than strings; the TATs first so that the reply is the store's
 * `tats` as it comes). Numbers stay below 2^53, so Lua's doubles hold them exactly and Redis
 * converts them to integers without loss; %.0f prints a stored TAT whole.
 */
export interface ScriptParams {
  intervalUs: number;
  burst: number;
}

/** The script for keys checked against `params` in order; `unitCost`: every cost is 1 (none sent). */
export function checkScript(params: readonly ScriptParams[], unitCost: boolean): string {
  const lines = [
    "local t = redis.call('TIME')",
    "local now = t[1] * 1000000 + t[2]",
    "local out = {}",
    "local ok = 1",
  ];
  const spend = (i: number, p: ScriptParams) =>
    unitCost ? `${p.intervalUs}` : `${p.intervalUs} * ARGV[${i}]`;
  params.forEach((p, index) => {
    const i = index + 1;
    lines.push(
      `out[${i}] = tonumber(redis.call('GET', KEYS[${i}]) or 0)`,
      `if math.max(out[${i}], now) + ${spend(i, p)} - now > ${p.intervalUs * p.burst} then ok = 0 end`,
    );
  });
  const n = params.length;
  lines.push(`out[${n + 1}] = ok`, `out[${n + 2}] = now`, "if ok == 1 then", "  local fresh");
  params.forEach((p, index) => {
    const i = index + 1;
    lines.push(
      `  fresh = math.max(out[${i}], now) + ${spend(i, p)}`,
      `  redis.call('SET', KEYS[${i}], string.format('%.0f', fresh), 'PX', math.max(1, math.ceil((fresh - now) / 1000)))`,
    );
  });
  lines.push("end", "return out", "");
  return lines.join("\n");
}
