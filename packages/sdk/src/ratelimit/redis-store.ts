import { createHash } from "node:crypto";
import type { Redis, RedisOptions } from "ioredis";
import { CHECK_SCRIPT } from "./redis-script.js";
import type { RateLimitStore, StoreEntry, StoreOutcome } from "./store.js";
import { withTimeout } from "./timeout.js";

export interface RedisRateLimitStoreOptions {
  /** A `redis://` URL: the store opens its own client with `rateLimitRedisOptions()` and closes it. */
  url?: string;
  /** Or a client you own (standalone or Sentinel; not Cluster): create it with `rateLimitRedisOptions()`. */
  client?: Redis;
  /** Prefix of every key the store writes. Default `keel:rl:`. */
  prefix?: string;
  /** Only with `url`: overrides of the client options. */
  redisOptions?: RedisOptions;
}

/**
 * ioredis options for a limiter: commands fail at once while Redis is down (no offline queue,
 * nothing held across reconnects, nothing resent: a check must never count twice), a command
 * that gets no answer fails after `commandTimeoutMs`, and the client reconnects by itself,
 * backing off to one attempt a second.
 *
 * @example
 * const client = new Redis(process.env.REDIS_URL, rateLimitRedisOptions());
 */
export function rateLimitRedisOptions(commandTimeoutMs = 50): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 1_000,
    retryStrategy: (attempt) => Math.min(50 * attempt, 1_000),
  };
}

/**
 * ioredis (an optional peer dependency) is loaded when a store opens its own client, not when
 * the SDK is imported: a process that never uses Redis (a `keel start` without REDIS_URL) does
 * not carry it, about 8 MiB. A plain dynamic import, which bundlers and CommonJS hosts follow
 * (decision 038; it was `createRequire(import.meta.url)`).
 */
async function openClient(url: string, options: RedisOptions | undefined): Promise<Redis> {
  const loaded = (await import("ioredis")) as typeof import("ioredis") & {
    default?: typeof import("ioredis");
  };
  const RedisClass = loaded.Redis ?? loaded.default?.Redis;
  const client = new RedisClass(url, { ...rateLimitRedisOptions(), ...options });
  // Connection errors surface as failed checks (and the limiter's log line); without a
  // listener ioredis would print each reconnect failure.
  client.on("error", () => {});
  return client;
}

const SCRIPT_SHA = createHash("sha1").update(CHECK_SCRIPT).digest("hex");

/**
 * GCRA state in Redis: one key per (policy, key), one Lua script per check (atomic across
 * policies), time from Redis's TIME. Keys expire when their TAT passes.
 *
 * @example
 * const store = new RedisRateLimitStore({ url: process.env.REDIS_URL });
 * const limiter = createRateLimiter({ store, policies });
 * // on shutdown: await limiter.close();
 */
export class RedisRateLimitStore implements RateLimitStore {
  readonly kind = "redis";
  private opened: Redis | undefined;
  private readonly opening: Promise<Redis>;
  private readonly prefix: string;
  private readonly owned: boolean;
  private readonly timeoutMs: number | undefined;

  constructor(options: RedisRateLimitStoreOptions) {
    if (options.client) {
      this.opened = options.client;
      this.opening = Promise.resolve(options.client);
      this.owned = false;
      this.timeoutMs = options.client.options.commandTimeout;
    } else if (options.url) {
      this.opening = openClient(options.url, options.redisOptions).then((client) => {
        this.opened = client;
        return client;
      });
      // A missing ioredis fails the first check (and ready()), not the process.
      this.opening.catch(() => {});
      this.owned = true;
      this.timeoutMs = { ...rateLimitRedisOptions(), ...options.redisOptions }.commandTimeout;
    } else {
      throw new TypeError("RedisRateLimitStore needs a url or a client");
    }
    this.prefix = options.prefix ?? "keel:rl:";
  }

  /**
   * The ioredis client. With `url` it is created once ioredis is loaded (a dynamic import started
   * by the constructor): read it after `await store.connection()` or `await store.ready()`;
   * before that this throws.
   */
  get client(): Redis {
    if (!this.opened)
      throw new TypeError("RedisRateLimitStore: the client is still opening; await store.ready()");
    return this.opened;
  }

  /** The ioredis client once it is created (ioredis loaded), without waiting for the connection. */
  async connection(): Promise<Redis> {
    return this.opening;
  }

  /** Resolves once the client is connected (checks before that fail and take the fail mode). */
  async ready(): Promise<void> {
    const client = await this.opening;
    if (client.status === "ready") return;
    await new Promise<void>((resolve) => client.once("ready", () => resolve()));
  }

  /** The client's `commandTimeout`: every check settles within it (see RateLimitStore). */
  get settlesWithinMs(): number | undefined {
    const ms = this.timeoutMs;
    return typeof ms === "number" && ms > 0 ? ms : undefined;
  }

  async consume(entries: readonly StoreEntry[]): Promise<StoreOutcome> {
    const started = performance.now();
    // One flat argument list (keys, then 3 numbers per key), built in one pass: this runs for
    // every check, and the map/flatMap/spread version cost a measurable share of a decision.
    const n = entries.length;
    const argv: (string | number)[] = new Array(4 * n);
    for (let i = 0; i < n; i++) {
      const e = entries[i] as StoreEntry;
      argv[i] = `${this.prefix}${e.policy}:${e.key}`;
      argv[n + 3 * i] = e.intervalUs;
      argv[n + 3 * i + 1] = e.burst;
      argv[n + 3 * i + 2] = e.cost;
    }
    const client = this.opened ?? (await this.opening);
    let reply: number[];
    try {
      reply = (await client.evalsha(SCRIPT_SHA, n, ...argv)) as number[];
    } catch (err) {
      // First use on this server (or after its restart): send the script itself once.
      if (!String((err as Error).message).startsWith("NOSCRIPT")) throw err;
      const sent = client.eval(CHECK_SCRIPT, n, ...argv);
      // Two commands: keep the pair within the bound the limiter relies on.
      const bound = this.settlesWithinMs;
      const left = bound === undefined ? undefined : Math.max(1, bound - (performance.now() - started));
      reply = (await (left === undefined ? sent : withTimeout(sent, left, this.kind))) as number[];
    }
    // Integer replies: [admitted 1|0, now_us, stored TAT of each key].
    const tats = new Array<number>(n);
    for (let i = 0; i < n; i++) tats[i] = reply[2 + i] as number;
    return { admitted: reply[0] === 1, nowUs: reply[1] as number, tats };
  }

  async close(): Promise<void> {
    if (!this.owned) return;
    const client = await this.opening.catch(() => undefined);
    if (!client || client.status === "end") return;
    // quit waits for a Redis that may be down; disconnect just closes.
    client.disconnect();
  }
}
