// Rate limiting: the limiter, its stores, the RateLimit headers, key helpers, middleware.

export {
  FAIL_MODES,
  type FailMode,
  type GcraOutcome,
  type GcraParams,
  gcra,
  POLICY_NAME,
  type Policy,
  policyProblems,
  type ResolvedPolicy,
  validatePolicy,
} from "@keel/protocol/ratelimit";
export { formatRateLimit, formatRateLimitPolicy, type HeaderSource, rateLimitHeaders } from "./headers.js";
export { type AddressKeyOptions, keyByAddress, keyByToken, keyByUser } from "./keys.js";
export { createRateLimiter, RateLimiter, type RateLimiterOptions } from "./limiter.js";
export { MemoryRateLimitStore, type MemoryRateLimitStoreOptions } from "./memory-store.js";
export {
  type ExpressLikeRequest,
  type ExpressLikeResponse,
  rateLimitExpress,
} from "./middleware/express.js";
export { type FastifyLikeReply, type FastifyLikeRequest, rateLimitFastify } from "./middleware/fastify.js";
export { type FetchHandler, rateLimitFetch } from "./middleware/fetch.js";
export type { RateLimitMiddlewareOptions } from "./middleware/shared.js";
export { PostgresRateLimitStore, type PostgresRateLimitStoreOptions } from "./postgres-store.js";
export {
  RedisRateLimitStore,
  type RedisRateLimitStoreOptions,
  rateLimitRedisOptions,
} from "./redis-store.js";
export type { RateLimitStore, StoreEntry, StoreOutcome } from "./store.js";
export { StoreTimeoutError } from "./timeout.js";
export {
  DECISION_OUTCOMES,
  type DecisionEvent,
  type DecisionOutcome,
  type LimitRequest,
  type PolicyResult,
  type RateLimitDecision,
  type RateLimitLog,
} from "./types.js";
