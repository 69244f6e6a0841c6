// The IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers-10): structured-field
// lists with one item per policy, the policy name as an sf-string.
//   RateLimit-Policy: "api";q=100;w=60
//   RateLimit: "api";r=42;t=17

/** What the headers need of one policy's result. */
export interface HeaderSource {
  policy: string;
  limit: number;
  windowSeconds: number;
  remaining: number;
  resetSeconds: number;
  /** Set when this policy refused: `t` is then the wait before a retry can pass. */
  retryAfterSeconds?: number;
  /** `open`: nothing was counted, so no RateLimit item is sent for it. */
  failMode?: "open" | "closed" | "fallback";
}

const sfStrings = new Map<string, string>();

/** An sf-string: printable ASCII in double quotes, `"` and `\` escaped (RFC 9651 §3.3.3). */
export function sfString(value: string): string {
  // Policy names repeat on every decision: remember the few there are.
  const known = sfStrings.get(value);
  if (known !== undefined) return known;
  if (!/^[\x20-\x7e]*$/.test(value)) throw new TypeError(`not printable ASCII: ${JSON.stringify(value)}`);
  const quoted = `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  if (sfStrings.size < 1024) sfStrings.set(value, quoted);
  return quoted;
}

/** `RateLimit-Policy`: each policy's quota (`q`) and window in seconds (`w`). */
export function formatRateLimitPolicy(results: readonly HeaderSource[]): string {
  return results.map((r) => `${sfString(r.policy)};q=${r.limit};w=${r.windowSeconds}`).join(", ");
}

/**
 * `RateLimit`: each policy's remaining units (`r`) and seconds (`t`) until the quota is back in
 * full, or, for a policy that refused, until a retry can pass (the same moment as Retry-After).
 * Policies that failed open counted nothing and are left out; undefined when none is left.
 */
export function formatRateLimit(results: readonly HeaderSource[]): string | undefined {
  const items = results
    .filter((r) => r.failMode !== "open")
    .map((r) => `${sfString(r.policy)};r=${r.remaining};t=${r.retryAfterSeconds ?? r.resetSeconds}`);
  return items.length > 0 ? items.join(", ") : undefined;
}

/**
 * The response headers of a decision: `ratelimit-policy`, `ratelimit`, and `retry-after` (whole
 * seconds, the longest wait of the refusing policies) when refused.
 *
 * @example
 * rateLimitHeaders([{ policy: "default", limit: 100, windowSeconds: 60, remaining: 42, resetSeconds: 17 }]);
 * // { "ratelimit-policy": '"default";q=100;w=60', ratelimit: '"default";r=42;t=17' }
 */
export function rateLimitHeaders(
  results: readonly HeaderSource[],
  retryAfterSeconds?: number,
): Record<string, string> {
  const headers: Record<string, string> = { "ratelimit-policy": formatRateLimitPolicy(results) };
  const current = formatRateLimit(results);
  if (current !== undefined) headers.ratelimit = current;
  if (retryAfterSeconds !== undefined) headers["retry-after"] = String(retryAfterSeconds);
  return headers;
}
