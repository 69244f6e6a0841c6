export { type IdempotencyExpressOptions, idempotencyExpress } from "./express.js";
export {
  type FastifyIdempotencyScope,
  type FastifyReplyState,
  type IdempotencyFastifyOptions,
  idempotencyFastify,
} from "./fastify.js";
export { type IdempotencyFetchOptions, idempotencyFetch } from "./fetch.js";
export { type PostgresIdempotencyStoreOptions, postgresIdempotencyStore } from "./postgres.js";
export {
  canonicalJson,
  type Decision,
  fingerprint,
  type IdempotencyOptions,
  type IdempotencyOutcome,
  type IdempotentRequest,
  idempotencyProtocol,
} from "./protocol.js";
export { type RedisIdempotencyStoreOptions, redisIdempotencyStore } from "./redis.js";
export type { IdempotencyCacheOptions } from "./redis-cache.js";
export type { BeginInput, BeginResult, FinishInput, IdempotencyStore, StoredResponse } from "./store.js";
