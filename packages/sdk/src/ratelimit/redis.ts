// @keel/sdk/ratelimit/redis: GCRA state in Redis (ioredis, an optional peer dependency).
export {
  RedisRateLimitStore,
  type RedisRateLimitStoreOptions,
  rateLimitRedisOptions,
} from "./redis-store.js";
