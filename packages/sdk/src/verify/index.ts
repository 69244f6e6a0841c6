export { deliveryOf } from "./attached.js";
export {
  DELIVERY_VERIFICATION_FAILED,
  DeliveryVerificationError,
  type VerificationFailure,
} from "./errors.js";
export {
  type NextFunction,
  type NodeRequest,
  type NodeResponse,
  type VerifyDeliveryExpressOptions,
  verifyDeliveryExpress,
} from "./express.js";
export {
  type FastifyDeliveryScope,
  type FastifyHookReply,
  type FastifyHookRequest,
  verifyDeliveryFastify,
} from "./fastify.js";
export { type DeliveryHandler, refusalResponse, verifyDeliveryFetch, verifyRequest } from "./fetch.js";
export {
  createDeliveryVerifier,
  type DeliveryInput,
  type DeliveryVerifier,
  type HeadersInput,
  type KeelDelivery,
  type VerifyOptions,
  verifyDelivery,
} from "./verify.js";
