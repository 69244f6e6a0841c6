// The public API of @keel/sdk's root entry: everything, for Node applications (it loads
// @keel/engine). Other runtimes and bundles import the subpaths: @keel/sdk/client, /verify,
// /ratelimit, /idempotency, /worker, /next, /hono, /express, /fastify (decision 038).
export * from "./adapters/express.js";
export * from "./adapters/fastify.js";
export * from "./client/index.js";
export { type IdempotencyFetchOptions, idempotencyFetch } from "./idempotency/fetch.js";
export * from "./idempotency/index.js";
export { type PostgresIdempotencyStoreOptions, postgresIdempotencyStore } from "./idempotency/postgres.js";
export { type RedisIdempotencyStoreOptions, redisIdempotencyStore } from "./idempotency/redis.js";
export type { IdempotencyCacheOptions } from "./idempotency/redis-cache.js";
export * from "./ratelimit/index.js";
export { type FetchHandler, rateLimitFetch } from "./ratelimit/middleware/fetch.js";
export * from "./ratelimit/postgres.js";
export * from "./ratelimit/redis.js";
export * from "./verify/index.js";
export * from "./worker/index.js";
