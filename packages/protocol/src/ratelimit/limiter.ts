import { KeelError } from "../errors.js";
import { admits } from "./gcra.js";
import { MemoryRateLimitStore } from "./memory-store.js";
import { type Policy, type ResolvedPolicy, validatePolicy } from "./policy.js";
import { type CheckEntry, storeResults, toDecision } from "./results.js";
import type { RateLimitStore, StoreEntry, StoreOutcome } from "./store.js";
import { withTimeout } from "./timeout.js";
import type { DecisionEvent, LimitRequest, PolicyResult, RateLimitDecision, RateLimitLog } from "./types.js";

export interface RateLimiterOptions {
  /** Where the state lives: `RedisRateLimitStore`, `PostgresRateLimitStore` or `MemoryRateLimitStore`. */
  store: RateLimitStore;
  policies: readonly Policy[];
  /** How long a check waits for the store before the fail modes decide. Default 50 ms. */
  timeoutMs?: number;
  /** While the store is failing, one check per this many ms tries it; the others go straight to the fail modes. Default 100 ms. */
  probeIntervalMs?: number;
  /** Told about each policy's part of every decision (a metric hook; must not throw). */
  onDecision?: (event: DecisionEvent) => void;
  /** Where the store-down and store-back lines go. Default: console. */
  log?: RateLimitLog;
  /**
   * A key the store refused is refused again by this process, without a store round trip, for
   * up to this many milliseconds while it certainly still would be: its stored time can only
   * move later (decision 061). 0: ask the store every time. Default 1000.
   */
  rememberDenialsMs?: number;
  /** Milliseconds, for the fallback memory limits, the probe interval and remembered denials; injectable for tests. */
  clock?: () => number;
}

/** A refusal the store answered: when it was asked (this process's clock), and what it saw. */
interface Denial {
  askedAt: number;
  nowUs: number;
  tat: number;
  until: number;
}

/** Remembered refusals per process: beyond this, the oldest is forgotten first. */
const MAX_DENIALS = 10_000;

const MAX_KEY_LENGTH = 1024;

const consoleLog: RateLimitLog = (level, message, fields) => {
  (level === "warn" ? console.warn : console.info)(`keel rate limiter: ${message}`, fields);
};

/**
 * Checks requests against rate-limit policies in a shared store, atomically across the policies
 * of one check. When the store fails or is slower than `timeoutMs`, each policy's fail mode
 * decides; the store is probed again every `probeIntervalMs` and takes over as soon as it answers.
 *
 * @example
 * const limiter = createRateLimiter({
 *   store: new RedisRateLimitStore({ url: process.env.REDIS_URL }),
 *   policies: [{ name: "api", limit: 100, windowSeconds: 60, failMode: "fallback", expectedReplicas: 3 }],
 * });
 * const decision = await limiter.check({ policy: "api", key: keyByUser(user.id) });
 * if (!decision.allowed) return new Response("slow down", { status: 429, headers: decision.headers });
 */
export class RateLimiter {
  readonly policies: ReadonlyMap<string, ResolvedPolicy>;
  readonly store: RateLimitStore;
  private readonly fallback: MemoryRateLimitStore;
  private readonly timeoutMs: number;
  private readonly probeIntervalMs: number;
  private readonly onDecision: RateLimiterOptions["onDecision"];
  private readonly log: RateLimitLog;
  private readonly clock: () => number;
  private readonly rememberDenialsMs: number;
  /** Refusals of single-policy checks, by policy and key (see `remembered`). */
  private readonly denials = new Map<string, Denial>();
  /** Set while the store is failing: when the next probe may run. */
  private nextProbeAt: number | undefined;
  private probing = false;

  constructor(options: RateLimiterOptions) {
    const policies = new Map<string, ResolvedPolicy>();
    for (const policy of options.policies) {
      const resolved = validatePolicy(policy);
      if (policies.has(resolved.name)) {
        throw new KeelError("invalid_policy", { policy: resolved.name, detail: "declared twice" });
      }
      policies.set(resolved.name, resolved);
    }
    this.policies = policies;
    this.store = options.store;
    this.timeoutMs = options.timeoutMs ?? 50;
    this.probeIntervalMs = options.probeIntervalMs ?? 100;
    this.onDecision = options.onDecision;
    this.log = options.log ?? consoleLog;
    this.clock = options.clock ?? (() => performance.timeOrigin + performance.now());
    this.rememberDenialsMs = options.rememberDenialsMs ?? 1000;
    this.fallback = new MemoryRateLimitStore({ clock: this.clock });
  }

  /** True while the store is failing and the fail modes decide. */
  get degraded(): boolean {
    return this.nextProbeAt !== undefined;
  }

  /**
   * Charges every policy of the request or none: a refusal by one spends nothing of the others.
   * Throws KeelError `policy_not_found` or `invalid_argument` for a malformed request; never for
   * a store failure (the fail modes answer then).
   */
  async check(request: LimitRequest | readonly LimitRequest[]): Promise<RateLimitDecision> {
    const entries = this.prepare(Array.isArray(request) ? request : [request as LimitRequest]);
    let outcome: StoreOutcome | undefined = this.remembered(entries);
    const use = outcome ? "skip" : this.storeUse();
    if (use !== "skip") {
      const askedAt = this.clock();
      try {
        const work = this.store.consume(entries.map(storeEntry));
        const bound = this.store.settlesWithinMs;
        outcome = await (bound !== undefined && bound <= this.timeoutMs
          ? work
          : withTimeout(work, this.timeoutMs, this.store.kind));
        this.storeAnswered();
        if (!outcome.admitted) this.remember(entries, outcome, askedAt);
      } catch (err) {
        this.storeFailed(err, entries);
      } finally {
        if (use === "probe") this.probing = false;
      }
    }
    const results = outcome
      ? storeResults(entries, outcome, (e) => e.policy, { allowed: "allowed", denied: "denied" })
      : this.failModes(entries);
    for (const r of results) this.onDecision?.({ policy: r.policy, outcome: r.outcome });
    return toDecision(results);
  }

  /** Closes the store (a client or pool it was given stays open) and drops the fallback state. */
  async close(): Promise<void> {
    await this.store.close();
    await this.fallback.close();
  }

  private prepare(requests: readonly LimitRequest[]): CheckEntry[] {
    if (requests.length === 0) {
      throw new KeelError("invalid_argument", {
        detail: "a rate-limit check needs at least one {policy, key}",
      });
    }
    // A duplicate needs two requests: most checks have one and skip the set.
    const seen = requests.length > 1 ? new Set<string>() : undefined;
    return requests.map(({ policy: name, key, cost = 1 }) => {
      const policy = this.policies.get(name);
      if (!policy) {
        const declared = [...this.policies.keys()].join(", ") || "none";
        throw new KeelError("policy_not_found", { policy: name, declared });
      }
      if (
        typeof key !== "string" ||
        key.length < 1 ||
        key.length > MAX_KEY_LENGTH ||
        key.includes("\u0000")
      ) {
        throw new KeelError("invalid_argument", {
          detail: `key: a string of 1–${MAX_KEY_LENGTH} characters without NUL (policy '${name}')`,
        });
      }
      if (!Number.isInteger(cost) || cost < 0 || cost > policy.burst) {
        throw new KeelError("invalid_argument", {
          detail: `cost: a whole number from 0 to ${policy.burst}, the most policy '${name}' admits at once (got ${cost})`,
        });
      }
      if (seen) {
        const id = `${name}:${key}`;
        if (seen.has(id)) {
          throw new KeelError("invalid_argument", {
            detail: `policy '${name}' is given twice for the same key`,
          });
        }
        seen.add(id);
      }
      return { policy, key, cost };
    });
  }

  /**
   * The store's answer to a single-policy check whose key it refused less than
   * `rememberDenialsMs` ago, when that answer is certainly still a refusal: the store's clock
   * now is at most its clock then plus the time since it was asked (the upper bound), and the
   * key's stored time is at least what it was (other checks only move it later). Refused at that
   * bound, the key is refused at the store's real time too. Otherwise (admitted at the bound, or
   * nothing remembered) undefined: the store decides.
   */
  private remembered(entries: readonly CheckEntry[]): StoreOutcome | undefined {
    if (entries.length !== 1 || this.denials.size === 0) return undefined;
    const e = entries[0] as CheckEntry;
    const id = denialId(e);
    const denial = this.denials.get(id);
    if (!denial) return undefined;
    const now = this.clock();
    const nowUs = denial.nowUs + Math.ceil((now - denial.askedAt) * 1000);
    if (now < denial.until && !admits(nowUs, denial.tat, e.policy, e.cost)) {
      return { nowUs, tats: [denial.tat], admitted: false };
    }
    this.denials.delete(id);
    return undefined;
  }

  /** Keeps the store's refusal of a single-policy check (see `remembered`). */
  private remember(entries: readonly CheckEntry[], outcome: StoreOutcome, askedAt: number): void {
    if (entries.length !== 1 || this.rememberDenialsMs <= 0) return;
    const e = entries[0] as CheckEntry;
    const id = denialId(e);
    this.denials.delete(id);
    if (this.denials.size >= MAX_DENIALS) this.denials.delete(this.denials.keys().next().value as string);
    this.denials.set(id, {
      askedAt,
      nowUs: outcome.nowUs,
      tat: outcome.tats[0] ?? 0,
      until: askedAt + this.rememberDenialsMs,
    });
  }

  /** While failing, one check per probe interval tries the store; the others skip it. */
  private storeUse(): "use" | "probe" | "skip" {
    if (this.nextProbeAt === undefined) return "use";
    if (this.probing || this.clock() < this.nextProbeAt) return "skip";
    this.probing = true;
    return "probe";
  }

  private storeAnswered(): void {
    if (this.nextProbeAt === undefined) return;
    this.nextProbeAt = undefined;
    this.log("info", "the store answers again; policies are enforced in it", { store: this.store.kind });
  }

  private storeFailed(err: unknown, entries: readonly CheckEntry[]): void {
    const first = this.nextProbeAt === undefined;
    this.nextProbeAt = this.clock() + this.probeIntervalMs;
    if (!first) return;
    const policies = [...new Set(entries.map((e) => e.policy))].map((p) => ({
      policy: p.name,
      failMode: p.failMode,
      ...(p.failMode === "fallback"
        ? { perProcessLimit: p.fallback.limit, windowSeconds: p.windowSeconds }
        : {}),
    }));
    this.log("warn", "the store failed; policies follow their fail modes until it answers again", {
      store: this.store.kind,
      error: err instanceof Error ? err.message : String(err),
      policies,
    });
  }

  /**
   * The store failed: `closed` refuses (and then nothing is spent anywhere), `open` admits
   * without counting, `fallback` checks this process's share in memory (atomically across the
   * fallback policies of the check).
   */
  private failModes(entries: readonly CheckEntry[]): PolicyResult[] {
    const closed = entries.some((e) => e.policy.failMode === "closed");
    const fallbackEntries = entries.filter((e) => e.policy.failMode === "fallback");
    const fallback = new Map<CheckEntry, PolicyResult>();
    if (fallbackEntries.length > 0) {
      const storeEntries = fallbackEntries.map((e) => ({
        ...storeEntry(e),
        ...e.policy.fallback,
        // Refused anyway by a closed policy: read the state without spending.
        cost: closed ? 0 : e.cost,
      }));
      const outcome = this.fallback.consumeNow(storeEntries);
      const results = storeResults(
        fallbackEntries.map((e, i) => ({ ...e, cost: storeEntries[i]?.cost ?? e.cost })),
        outcome,
        (e) => e.policy.fallback,
        { allowed: "fallback_allowed", denied: "fallback_denied" },
      );
      fallbackEntries.forEach((e, i) => {
        const r = results[i] as PolicyResult;
        fallback.set(e, { ...r, failMode: "fallback", ...(closed ? { outcome: "denied_by_other" } : {}) });
      });
    }
    const retry = Math.max(1, Math.ceil(this.probeIntervalMs / 1000));
    return entries.map((e): PolicyResult => {
      const base = { policy: e.policy.name, key: e.key, windowSeconds: e.policy.windowSeconds };
      if (e.policy.failMode === "fallback") return fallback.get(e) as PolicyResult;
      if (e.policy.failMode === "closed") {
        return {
          ...base,
          allowed: false,
          outcome: "fail_closed",
          limit: e.policy.limit,
          remaining: 0,
          resetSeconds: retry,
          retryAfterSeconds: retry,
          failMode: "closed",
        };
      }
      return {
        ...base,
        allowed: true,
        outcome: closed ? "denied_by_other" : "fail_open",
        limit: e.policy.limit,
        remaining: e.policy.burst,
        resetSeconds: 0,
        failMode: "open",
      };
    });
  }
}

/** The key of a remembered refusal: policy and key (a key holds no NUL: see `prepare`). */
function denialId(e: CheckEntry): string {
  return `${e.policy.name}\u0000${e.key}`;
}

function storeEntry(e: CheckEntry): StoreEntry {
  return {
    policy: e.policy.name,
    key: e.key,
    intervalUs: e.policy.intervalUs,
    burst: e.policy.burst,
    cost: e.cost,
  };
}

/**
 * A limiter over `options.store`; see RateLimiter.
 *
 * @example
 * const limiter = createRateLimiter({ store: new MemoryRateLimitStore(), policies: [{ name: "login", limit: 5, windowSeconds: 60, failMode: "closed" }] });
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  return new RateLimiter(options);
}
