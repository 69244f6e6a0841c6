// GCRA (the generic cell rate algorithm) on integer microseconds. One number per key, the
// theoretical arrival time (TAT): the moment the key would be back at its full burst. A check
// of `cost` units moves it `cost × interval` later, and is admitted when the new TAT is at most
// `burst × interval` ahead of now. The Redis store's Lua script repeats `admits` exactly.

/** GCRA parameters of one policy (or of its fallback share). */
export interface GcraParams {
  /** Microseconds one unit occupies: window / limit, rounded up. */
  intervalUs: number;
  /** Units a key may spend at once. */
  burst: number;
}

/** What one check of one key comes to. */
export interface GcraOutcome {
  allowed: boolean;
  /** The TAT to store when every policy of the check admits (unchanged when refused). */
  newTat: number;
  /** Units left after this check (when refused: left without it). */
  remaining: number;
  /** Microseconds until the key is back at its full burst. */
  resetUs: number;
  /** Microseconds until this check would be admitted; 0 when admitted. */
  retryAfterUs: number;
}

/** Whether `cost` units fit for a key whose stored TAT is `tat` (0: never seen) at `nowUs`. */
export function admits(nowUs: number, tat: number, params: GcraParams, cost: number): boolean {
  return Math.max(tat, nowUs) + params.intervalUs * cost - nowUs <= params.intervalUs * params.burst;
}

/**
 * Applies GCRA to one key.
 *
 * @example
 * // 10 per second, burst 10, never seen: admitted, 9 left, full again in 100 ms.
 * gcra(0, 0, { intervalUs: 100_000, burst: 10 }, 1); // { allowed: true, remaining: 9, resetUs: 100000, … }
 */
export function gcra(nowUs: number, tat: number, params: GcraParams, cost: number): GcraOutcome {
  const { intervalUs, burst } = params;
  const span = intervalUs * burst;
  const base = Math.max(tat, nowUs);
  const next = base + intervalUs * cost;
  if (next - nowUs <= span) {
    return {
      allowed: true,
      newTat: next,
      remaining: Math.floor((span - (next - nowUs)) / intervalUs),
      resetUs: next - nowUs,
      retryAfterUs: 0,
    };
  }
  return {
    allowed: false,
    newTat: tat,
    remaining: Math.floor((span - (base - nowUs)) / intervalUs),
    resetUs: base - nowUs,
    retryAfterUs: next - span - nowUs,
  };
}
