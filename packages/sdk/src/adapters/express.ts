// @keel/sdk/express: Keel's Express middleware (delivery verification, rate limits,
// Idempotency-Key), with the runtime-neutral pieces they are configured with.

export { type IdempotencyExpressOptions, idempotencyExpress } from "../idempotency/express.js";
export {
  type ExpressLikeRequest,
  type ExpressLikeResponse,
  rateLimitExpress,
} from "../ratelimit/middleware/express.js";
export { deliveryOf } from "../verify/attached.js";
export {
  type NextFunction,
  type NodeRequest,
  type NodeResponse,
  type VerifyDeliveryExpressOptions,
  verifyDeliveryExpress,
} from "../verify/express.js";
