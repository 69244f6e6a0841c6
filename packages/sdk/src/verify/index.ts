// @keel/sdk/verify: delivery verification, runtime-neutral (Web Crypto, no `node:` import).
// Express and Fastify adapters: @keel/sdk/express, @keel/sdk/fastify.
export { deliveryOf } from "./attached.js";
export {
  DELIVERY_VERIFICATION_FAILED,
  DeliveryVerificationError,
  type VerificationFailure,
} from "./errors.js";
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
