import type { Backoff } from "./types.js";

/** The default when neither the job nor its queue sets one (decision 004). */
export const DEFAULT_BACKOFF: Backoff = {
  type: "exponential",
  baseMs: 5_000,
  maxMs: 3_600_000,
  jitter: true,
};

/**
 * Milliseconds to wait after failed attempt number `attempt` (1-based).
 *
 * @example
 * backoffDelay({ type: "list", delaysMs: [1000, 60_000] }, 3) // 60_000: the last entry repeats
 */
export function backoffDelay(
  backoff: Backoff | null | undefined,
  attempt: number,
  random = Math.random,
): number {
  const b = backoff ?? DEFAULT_BACKOFF;
  switch (b.type) {
    case "fixed":
      return b.delayMs;
    case "list":
      return b.delaysMs[Math.min(attempt, b.delaysMs.length) - 1] ?? 0;
    case "exponential": {
      const base = b.baseMs ?? 5_000;
      const max = b.maxMs ?? 3_600_000;
      const full = Math.min(max, base * 2 ** Math.min(attempt - 1, 40));
      // Equal jitter: spreads retries of jobs that failed together without ever retrying at once.
      return b.jitter === false ? full : Math.round(full / 2 + random() * (full / 2));
    }
  }
}
