// @keel/sdk/next: Fetch-API wrappers for Next.js App Router route handlers and middleware (edge
// runtime included): delivery verification, rate limits, Idempotency-Key, and the limiter with
// its in-memory store. No `node:` import and no @keel/engine; stores that need Node come from
// @keel/sdk/ratelimit/* and @keel/sdk/idempotency/* in Node-runtime routes.

export {
  createRateLimiter,
  type LimitRequest,
  MemoryRateLimitStore,
  type MemoryRateLimitStoreOptions,
  type RateLimitDecision,
  RateLimiter,
  type RateLimiterOptions,
} from "@keel/protocol/ratelimit";
export { type IdempotencyFetchOptions, idempotencyFetch } from "../idempotency/fetch.js";
export type { IdempotencyOutcome, IdempotencyStore } from "../idempotency/index.js";
export { type AddressKeyOptions, keyByAddress, keyByUser } from "../ratelimit/keys.js";
export { type FetchHandler, rateLimitFetch } from "../ratelimit/middleware/fetch.js";
export type { RateLimitMiddlewareOptions } from "../ratelimit/middleware/shared.js";
export { DeliveryVerificationError } from "../verify/errors.js";
export {
  type DeliveryHandler,
  refusalResponse,
  verifyDeliveryFetch,
  verifyRequest,
} from "../verify/fetch.js";
export { type KeelDelivery, type VerifyOptions, verifyDelivery } from "../verify/verify.js";
