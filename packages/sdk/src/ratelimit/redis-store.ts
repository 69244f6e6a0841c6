import {
  RedisRateLimitStore as ClientRedisRateLimitStore,
  rateLimitRedisOptions,
} from "@keel/protocol/ratelimit";
import type { Redis, RedisOptions } from "ioredis";

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
 * ioredis (an optional peer dependency) is loaded when a store opens its own client, not when
 * the SDK is imported: a process that never uses Redis does not carry it, about 8 MiB. A plain
 * dynamic import, which bundlers and CommonJS hosts follow (decision 038).
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

/**
 * GCRA state in Redis through ioredis: @keel/protocol's store, opening its own client from a URL
 * (or using yours).
 *
 * @example
 * const store = new RedisRateLimitStore({ url: process.env.REDIS_URL });
 * const limiter = createRateLimiter({ store, policies });
 * // on shutdown: await limiter.close();
 */
export class RedisRateLimitStore extends ClientRedisRateLimitStore<Redis> {
  constructor(options: RedisRateLimitStoreOptions) {
    if (options.client) {
      super({ client: options.client, prefix: options.prefix });
    } else if (options.url) {
      super({
        client: openClient(options.url, options.redisOptions),
        owned: true,
        commandTimeoutMs: { ...rateLimitRedisOptions(), ...options.redisOptions }.commandTimeout,
        prefix: options.prefix,
      });
    } else {
      throw new TypeError("RedisRateLimitStore needs a url or a client");
    }
  }
}

export { rateLimitRedisOptions };
