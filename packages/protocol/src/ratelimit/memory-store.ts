import { decide, type RateLimitStore, type StoreEntry, type StoreOutcome } from "./store.js";

export interface MemoryRateLimitStoreOptions {
  /** Milliseconds since the Unix epoch; injectable for tests. Default: a monotonic wall clock. */
  clock?: () => number;
  /** Keys kept at most; past it expired keys go first, then the least recently charged. Default 100,000. */
  maxKeys?: number;
}

// Expired keys are swept every this many checks (and whenever maxKeys is passed).
const SWEEP_EVERY = 1000;

const monotonicMs = () => performance.timeOrigin + performance.now();

/**
 * GCRA state in this process's memory: exact for one process, wrong as soon as two share the
 * limit (use the Redis or Postgres store then). Also the store behind `failMode: "fallback"`.
 *
 * @example
 * const limiter = createRateLimiter({ store: new MemoryRateLimitStore(), policies: [{ name: "api", limit: 10, windowSeconds: 1 }] });
 */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly kind = "memory";
  private readonly tats = new Map<string, number>();
  private readonly clock: () => number;
  private readonly maxKeys: number;
  private checks = 0;

  constructor(options: MemoryRateLimitStoreOptions = {}) {
    this.clock = options.clock ?? monotonicMs;
    this.maxKeys = options.maxKeys ?? 100_000;
  }

  /** Keys currently held (expired ones included until the next sweep). */
  get size(): number {
    return this.tats.size;
  }

  async consume(entries: readonly StoreEntry[]): Promise<StoreOutcome> {
    return this.consumeNow(entries);
  }

  /** `consume` without the promise: the fallback path needs no await. */
  consumeNow(entries: readonly StoreEntry[]): StoreOutcome {
    const nowUs = Math.round(this.clock() * 1000);
    const ids = entries.map((e) => `${e.policy}:${e.key}`);
    const tats = ids.map((id) => this.tats.get(id) ?? 0);
    const { admitted, newTats } = decide(nowUs, tats, entries);
    if (admitted) {
      ids.forEach((id, i) => {
        // Re-inserted so Map order is least recently charged first, for eviction.
        this.tats.delete(id);
        this.tats.set(id, newTats[i] as number);
      });
    }
    if (++this.checks % SWEEP_EVERY === 0 || this.tats.size > this.maxKeys) this.sweep(nowUs);
    return { nowUs, tats, admitted };
  }

  async close(): Promise<void> {
    this.tats.clear();
  }

  /** Drops keys whose TAT has passed (back at full quota), then the oldest over maxKeys. */
  private sweep(nowUs: number): void {
    for (const [id, tat] of this.tats) if (tat <= nowUs) this.tats.delete(id);
    for (const id of this.tats.keys()) {
      if (this.tats.size <= this.maxKeys) break;
      this.tats.delete(id);
    }
  }
}
