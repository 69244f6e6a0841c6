// @keel/sdk/fastify: Keel's Fastify hooks (delivery verification, rate limits, Idempotency-Key).

export {
  type FastifyIdempotencyScope,
  type FastifyReplyState,
  type IdempotencyFastifyOptions,
  idempotencyFastify,
} from "../idempotency/fastify.js";
export {
  type FastifyLikeReply,
  type FastifyLikeRequest,
  rateLimitFastify,
} from "../ratelimit/middleware/fastify.js";
export { deliveryOf } from "../verify/attached.js";
export {
  type FastifyDeliveryScope,
  type FastifyHookReply,
  type FastifyHookRequest,
  verifyDeliveryFastify,
} from "../verify/fastify.js";
