import { sha1Hex } from "../bytes.js";
import { checkScript, type ScriptParams } from "./redis-script.js";
import type { RateLimitStore, StoreEntry, StoreOutcome } from "./store.js";
import { withTimeout } from "./timeout.js";

/**
 * What the store needs of a Redis client. ioredis's `Redis` (standalone or Sentinel; not
 * Cluster) is one: this package imports no client, the application (or `@keel/sdk/ratelimit/redis`,
 * which opens ioredis from a URL) brings it.
 */
export interface RedisScriptClient {
  evalsha(sha: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  readonly status: string;
  once(event: "ready", listener: () => void): unknown;
  disconnect(): void;
  readonly options: { commandTimeout?: number };
}

export interface RedisRateLimitStoreOptions<C extends RedisScriptClient = RedisScriptClient> {
  /** The client, or a promise of it (a client still being opened). */
  client: C | Promise<C>;
  /** True when the store opened the client and closes it on `close()`. Default false. */
  owned?: boolean;
  /** The client's command timeout, when `client` is a promise (else read from the client). */
  commandTimeoutMs?: number;
  /** Prefix of every key the store writes. Default `keel:rl:`. */
  prefix?: string;
}

/** The options of a Redis client for a limiter (ioredis option names). */
export interface RateLimitRedisOptions {
  enableOfflineQueue: boolean;
  maxRetriesPerRequest: number;
  autoResendUnfulfilledCommands: boolean;
  commandTimeout: number;
  connectTimeout: number;
  retryStrategy: (attempt: number) => number;
}

/**
 * Client options for a limiter: commands fail at once while Redis is down (no offline queue,
 * nothing held across reconnects, nothing resent: a check must never count twice), a command
 * that gets no answer fails after `commandTimeoutMs`, and the client reconnects by itself,
 * backing off to one attempt a second.
 *
 * @example
 * const client = new Redis(process.env.REDIS_URL, rateLimitRedisOptions());
 */
export function rateLimitRedisOptions(commandTimeoutMs = 50): RateLimitRedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 1_000,
    retryStrategy: (attempt) => Math.min(50 * attempt, 1_000),
  };
}

/** One script of a shape of check (see redis-script.ts), with its SHA-1 once Web Crypto computed it. */
interface Shape {
  readonly script: string;
  readonly unitCost: boolean;
  sha: string | undefined;
  readonly shaPromise: Promise<string>;
}

function newShape(params: readonly ScriptParams[], unitCost: boolean): Shape {
  const script = checkScript(params, unitCost);
  const shape: Shape = { script, unitCost, sha: undefined, shaPromise: sha1Hex(script) };
  shape.shaPromise.then(
    (sha) => {
      shape.sha = sha;
    },
    () => {},
  );
  return shape;
}

// Shapes met so far: few (one per policy, or per set of policies checked together), kept for the
// process; emptied past this many, in case parameters keep changing.
const MAX_SHAPES = 1000;

/**
 * GCRA state in Redis: one key per (policy, key), one Lua script per check (atomic across
 * policies), time from Redis's TIME. Keys expire when their TAT passes.
 *
 * @example
 * const client = new Redis(process.env.REDIS_URL, rateLimitRedisOptions());
 * const store = new RedisRateLimitStore({ client });
 * const limiter = createRateLimiter({ store, policies });
 * // on shutdown: await limiter.close();
 */
export class RedisRateLimitStore<C extends RedisScriptClient = RedisScriptClient> implements RateLimitStore {
  readonly kind = "redis";
  private opened: C | undefined;
  private readonly opening: Promise<C>;
  private readonly prefix: string;
  private readonly owned: boolean;
  private readonly timeoutMs: number | undefined;
  // Scripts by shape: one policy by interval then burst (numbers: no key string per check),
  // several by a joined id.
  private readonly unitShapes = new Map<number, Map<number, Shape>>();
  private readonly costShapes = new Map<number, Map<number, Shape>>();
  private readonly multiShapes = new Map<string, Shape>();
  private shapeCount = 0;

  constructor(options: RedisRateLimitStoreOptions<C>) {
    if (!options?.client) throw new TypeError("RedisRateLimitStore needs a client");
    const { client } = options;
    if (client instanceof Promise) {
      this.opening = client.then((opened) => {
        this.opened = opened;
        return opened;
      });
      // A client that cannot be opened fails the first check (and ready()), not the process.
      this.opening.catch(() => {});
      this.timeoutMs = options.commandTimeoutMs;
    } else {
      this.opened = client;
      this.opening = Promise.resolve(client);
      this.timeoutMs = options.commandTimeoutMs ?? client.options.commandTimeout;
    }
    this.owned = options.owned ?? false;
    this.prefix = options.prefix ?? "keel:rl:";
  }

  /**
   * The client. When it was given as a promise, read it after `await store.connection()` or
   * `await store.ready()`; before that this throws.
   */
  get client(): C {
    if (!this.opened)
      throw new TypeError("RedisRateLimitStore: the client is still opening; await store.ready()");
    return this.opened;
  }

  /** The client once it is created, without waiting for the connection. */
  async connection(): Promise<C> {
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

  /**
   * One EVALSHA of the shape's script with the keys (and the costs unless all are 1): the
   * policies' parameters are in the script, not in the call.
   */
  async consume(entries: readonly StoreEntry[]): Promise<StoreOutcome> {
    const started = performance.now();
    const n = entries.length;
    const shape = this.shapeOf(entries);
    const argv: string[] = new Array(shape.unitCost ? n : 2 * n);
    for (let i = 0; i < n; i++) {
      const e = entries[i] as StoreEntry;
      argv[i] = `${this.prefix}${e.policy}:${e.key}`;
      if (!shape.unitCost) argv[n + i] = String(e.cost);
    }
    const client = this.opened ?? (await this.opening);
    let reply: number[];
    try {
      const sha = shape.sha ?? (await shape.shaPromise);
      // One EVALSHA per check, sent at once: a pipeline of the checks started in one turn saved
      // client CPU but made them finish together, and doubled p99 (decision 061).
      reply = (await client.evalsha(sha, n, ...argv)) as number[];
    } catch (err) {
      // First use of this shape on this server (or after its restart): send the script itself once.
      if (!String((err as Error).message).startsWith("NOSCRIPT")) throw err;
      const sent = client.eval(shape.script, n, ...argv);
      // Two commands: keep the pair within the bound the limiter relies on.
      const bound = this.settlesWithinMs;
      const left = bound === undefined ? undefined : Math.max(1, bound - (performance.now() - started));
      reply = (await (left === undefined ? sent : withTimeout(sent, left, this.kind))) as number[];
    }
    // Integer replies: [TAT of each key, admitted 1|0, now_us]; the reply is the TAT list as is.
    return { admitted: reply[n] === 1, nowUs: reply[n + 1] as number, tats: reply };
  }

  /** The script for these entries' parameters, made once per shape (no allocation for one policy met before). */
  private shapeOf(entries: readonly StoreEntry[]): Shape {
    let unitCost = true;
    for (const e of entries) if (e.cost !== 1) unitCost = false;
    if (entries.length === 1) {
      const e = entries[0] as StoreEntry;
      let byBurst = (unitCost ? this.unitShapes : this.costShapes).get(e.intervalUs);
      if (!byBurst) {
        byBurst = new Map();
        (unitCost ? this.unitShapes : this.costShapes).set(e.intervalUs, byBurst);
      }
      let shape = byBurst.get(e.burst);
      if (!shape) {
        if (this.shapeCount++ >= MAX_SHAPES) this.forgetShapes();
        shape = newShape([e], unitCost);
        byBurst.set(e.burst, shape);
      }
      return shape;
    }
    let id = unitCost ? "u" : "c";
    for (const e of entries) id += `:${e.intervalUs}/${e.burst}`;
    let shape = this.multiShapes.get(id);
    if (!shape) {
      if (this.shapeCount++ >= MAX_SHAPES) this.forgetShapes();
      shape = newShape(entries, unitCost);
      this.multiShapes.set(id, shape);
    }
    return shape;
  }

  private forgetShapes(): void {
    this.unitShapes.clear();
    this.costShapes.clear();
    this.multiShapes.clear();
    this.shapeCount = 1;
  }

  async close(): Promise<void> {
    if (!this.owned) return;
    const client = await this.opening.catch(() => undefined);
    if (!client || client.status === "end") return;
    // quit waits for a Redis that may be down; disconnect just closes.
    client.disconnect();
  }
}
