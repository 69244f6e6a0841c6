import { admits } from "./gcra.js";

/** One (policy, key) of a check, with the GCRA parameters it is checked against. */
export interface StoreEntry {
  policy: string;
  key: string;
  intervalUs: number;
  burst: number;
  cost: number;
}

/** What a store saw and decided for a check, all on the store's own clock. */
export interface StoreOutcome {
  /** The store's clock at the decision, in microseconds since the Unix epoch. */
  nowUs: number;
  /**
   * Each entry's TAT before the check, in entry order; 0 for a key never seen (or expired). Only
   * the first `entries.length` elements are read (a store may hand over a longer reply as is).
   */
  tats: number[];
  /** True when every entry admitted and every new TAT was stored; false: nothing was written. */
  admitted: boolean;
}

/**
 * Where GCRA state lives. `consume` is atomic over all entries: either every entry admits and
 * every new TAT is stored, or nothing is written (a refusal by one policy costs the others
 * nothing). Time comes from the store, never from the application's clock.
 */
export interface RateLimitStore {
  /** `redis`, `postgres`, `memory`: for logs. */
  readonly kind: string;
  /**
   * Set when `consume` always settles (answers or fails) within this many ms by itself, as an
   * ioredis client with `commandTimeout` does: the limiter then arms no timer of its own when
   * its timeout is not shorter (one timer per check instead of two).
   */
  readonly settlesWithinMs?: number;
  consume(entries: readonly StoreEntry[]): Promise<StoreOutcome>;
  /** Releases what the store opened itself (never a client or pool it was given). */
  close(): Promise<void>;
}

/** The shared decision for stores that decide in JavaScript (memory, Postgres). */
export function decide(
  nowUs: number,
  tats: readonly number[],
  entries: readonly StoreEntry[],
): { admitted: boolean; newTats: number[] } {
  let admitted = true;
  const newTats = entries.map((e, i) => {
    const tat = tats[i] ?? 0;
    if (!admits(nowUs, tat, e, e.cost)) admitted = false;
    return Math.max(tat, nowUs) + e.intervalUs * e.cost;
  });
  return { admitted, newTats };
}
