import { isIPv4, isIPv6 } from "node:net";
import { ApiError } from "./errors.js";

export interface FailureLimiterOptions {
  /** Failures allowed per address within `windowMs`; the next request is refused. Default 10. */
  limit?: number;
  /** Default one minute. */
  windowMs?: number;
  /** Addresses remembered at most; the least recently failing are forgotten first. Default 10,000. */
  maxAddresses?: number;
  /**
   * Attempts of one address that may wait for its attempts in flight to settle (see `admit`);
   * more are refused at once. Default 100.
   */
  maxWaiting?: number;
  /** Injectable clock for tests. */
  now?: () => number;
}

/** An admitted authentication attempt: report how it ended, exactly once. */
export interface Attempt {
  succeeded(): void;
  failed(): void;
}

interface Entry {
  /** Times of the recent failures, oldest first (at most `limit`). */
  failures: number[];
  /** Attempts admitted and not settled yet. */
  pending: number;
  /** Attempts waiting for a pending one to settle. */
  waiting: (() => void)[];
}

/**
 * Slows down guessing: counts failed authentications per client in a sliding window. A client
 * is an IPv4 address, or an IPv6 /64 (one host usually holds the whole /64, so counting each
 * address would give it 2^64 budgets); an IPv4-mapped IPv6 address is its IPv4 address.
 *
 * Checking and recording are one step: an attempt is admitted only while its failures plus
 * the attempts still being checked stay under the limit, so concurrent guesses cannot all pass
 * the check before the first failure is recorded — exactly `limit` guesses are checked per
 * window. Attempts beyond that wait for those in flight to settle (valid tokens settle in
 * milliseconds) rather than being refused. In memory and per process: each replica counts on
 * its own, and a restart forgets (decision 029).
 *
 * @example
 * const limiter = new FailureLimiter();
 * const attempt = await limiter.admit(request.ip);
 * if ("retryAfterMs" in attempt) refuse(attempt.retryAfterMs);
 * else if (valid) attempt.succeeded();
 * else attempt.failed();
 */
export class FailureLimiter {
  private readonly entries = new Map<string, Entry>();
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly maxAddresses: number;
  private readonly maxWaiting: number;
  private readonly now: () => number;

  constructor(options: FailureLimiterOptions = {}) {
    this.limit = options.limit ?? 10;
    this.windowMs = options.windowMs ?? 60_000;
    this.maxAddresses = options.maxAddresses ?? 10_000;
    this.maxWaiting = options.maxWaiting ?? 100;
    this.now = options.now ?? Date.now;
  }

  /**
   * Admits one attempt from `address`, or answers how long until it may try again. Resolves at
   * once unless the client's attempts in flight fill what is left of its budget.
   */
  async admit(address: string): Promise<Attempt | { retryAfterMs: number }> {
    const key = clientKey(address);
    for (;;) {
      const entry = this.entry(key);
      this.prune(entry);
      if (entry.failures.length >= this.limit) {
        this.forgetIfIdle(key, entry);
        return { retryAfterMs: this.retryAfter(entry) };
      }
      if (entry.failures.length + entry.pending < this.limit) {
        entry.pending++;
        return this.attempt(key, entry);
      }
      if (entry.waiting.length >= this.maxWaiting) return { retryAfterMs: 1_000 };
      await new Promise<void>((resolve) => entry.waiting.push(resolve));
    }
  }

  private attempt(key: string, entry: Entry): Attempt {
    let settled = false;
    const settle = (failed: boolean) => {
      if (settled) return;
      settled = true;
      entry.pending--;
      if (failed) {
        entry.failures.push(this.now());
        // Only the last `limit` failures decide anything; older ones need not be kept.
        if (entry.failures.length > this.limit) entry.failures.shift();
        // Most recently failing last: the first key is the one to forget.
        this.entries.delete(key);
        this.entries.set(key, entry);
        this.evict();
      } else this.forgetIfIdle(key, entry);
      // Each waiter checks again: a freed slot admits one, a new failure may refuse them all.
      for (const wake of entry.waiting.splice(0)) wake();
    };
    return { succeeded: () => settle(false), failed: () => settle(true) };
  }

  private entry(key: string): Entry {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { failures: [], pending: 0, waiting: [] };
      this.entries.set(key, entry);
      this.evict();
    }
    return entry;
  }

  private prune(entry: Entry): void {
    const cutoff = this.now() - this.windowMs;
    while (entry.failures.length > 0 && (entry.failures[0] as number) <= cutoff) entry.failures.shift();
  }

  private retryAfter(entry: Entry): number {
    const oldest = entry.failures[entry.failures.length - this.limit] as number;
    return Math.max(1, oldest + this.windowMs - this.now());
  }

  private forgetIfIdle(key: string, entry: Entry): void {
    this.prune(entry);
    if (entry.failures.length === 0 && entry.pending === 0 && entry.waiting.length === 0) {
      this.entries.delete(key);
    }
  }

  private evict(): void {
    // Entries with attempts in flight are kept: their settling must count.
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.maxAddresses) return;
      if (entry.pending === 0 && entry.waiting.length === 0) this.entries.delete(key);
    }
  }
}

/**
 * The client an address counts for: an IPv4 address as it is, an IPv4-mapped IPv6 address as
 * its IPv4 address, any other IPv6 address as its /64 (`2001:db8:0:1::/64`). Anything else
 * (not an IP address) as it is.
 *
 * @example
 * clientKey("2001:db8::1:2:3:4"); // "2001:db8:0:0::/64"
 * clientKey("::ffff:192.0.2.7"); // "192.0.2.7"
 */
export function clientKey(address: string): string {
  if (isIPv4(address)) return address;
  const groups = isIPv6(address) ? ipv6Groups(address) : undefined;
  if (!groups) return address;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi, lo] = [groups[6] as number, groups[7] as number];
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(":")}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (zone dropped, `::` and a dotted tail expanded). */
function ipv6Groups(address: string): number[] | undefined {
  let text = address.split("%")[0] as string;
  const dotted = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(2).map(Number) as [number, number, number, number];
    text = `${dotted[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail, extra] = text.split("::");
  if (extra !== undefined) return undefined;
  const part = (s: string | undefined) => (s ? s.split(":") : []);
  const fill = tail === undefined ? 0 : 8 - part(head).length - part(tail).length;
  const groups = [...part(head), ...Array<string>(fill).fill("0"), ...part(tail)].map((g) =>
    Number.parseInt(g, 16),
  );
  return groups.length === 8 && groups.every((g) => g >= 0 && g <= 0xffff) ? groups : undefined;
}

/**
 * Admits one credential check from `address`, or throws 429 `too_many_requests` with a
 * `retry-after` saying when to try again; `what` names the attempts ("failed sign-ins").
 *
 * @example
 * const attempt = await admitOrRefuse(limiter, request.ip, "failed authentications");
 */
export async function admitOrRefuse(
  limiter: FailureLimiter,
  address: string,
  what: string,
): Promise<Attempt> {
  const attempt = await limiter.admit(address);
  if ("retryAfterMs" in attempt) {
    const retryAfter = Math.ceil(attempt.retryAfterMs / 1000);
    throw new ApiError(
      "too_many_requests",
      { detail: `too many ${what} from this address.`, retryAfter },
      { "retry-after": String(retryAfter) },
    );
  }
  return attempt;
}
