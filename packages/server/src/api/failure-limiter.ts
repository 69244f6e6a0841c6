export interface FailureLimiterOptions {
  /** Failures allowed per address within `windowMs`; the next request is refused. Default 10. */
  limit?: number;
  /** Default one minute. */
  windowMs?: number;
  /** Addresses remembered at most; the least recently failing are forgotten first. Default 10,000. */
  maxAddresses?: number;
  /** Injectable clock for tests. */
  now?: () => number;
}

/**
 * Slows down guessing: counts failed authentications per client address in a sliding window.
 * In memory and per process: each replica counts on its own, and a restart forgets (decision 011).
 *
 * @example
 * const limiter = new FailureLimiter();
 * if (limiter.retryAfterMs(ip) > 0) refuse();
 * else if (!valid) limiter.record(ip);
 */
export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly maxAddresses: number;
  private readonly now: () => number;

  constructor(options: FailureLimiterOptions = {}) {
    this.limit = options.limit ?? 10;
    this.windowMs = options.windowMs ?? 60_000;
    this.maxAddresses = options.maxAddresses ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Milliseconds until `address` may try again; 0 when it may now. */
  retryAfterMs(address: string): number {
    const recent = this.recent(address);
    if (recent.length < this.limit) return 0;
    return Math.max(1, (recent[recent.length - this.limit] as number) + this.windowMs - this.now());
  }

  record(address: string): void {
    const recent = this.recent(address);
    recent.push(this.now());
    // Only the last `limit` failures decide anything; older ones need not be kept.
    if (recent.length > this.limit) recent.shift();
    this.failures.delete(address);
    this.failures.set(address, recent);
    if (this.failures.size > this.maxAddresses) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
  }

  private recent(address: string): number[] {
    const list = this.failures.get(address);
    if (!list) return [];
    const cutoff = this.now() - this.windowMs;
    while (list.length > 0 && (list[0] as number) <= cutoff) list.shift();
    if (list.length === 0) this.failures.delete(address);
    return list;
  }
}
