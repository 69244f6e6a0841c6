// Idempotency-Key semantics, runtime-neutral: the protocol the adapters share and the store
// interface. Stores: @keel/sdk/idempotency/postgres, @keel/sdk/idempotency/redis. Middleware:
// @keel/sdk/next, /hono, /express, /fastify.
export { canonicalJson, type FingerprintedRequest, requestFingerprint } from "@keel/protocol/json";
export {
  type Decision,
  type IdempotencyOptions,
  type IdempotencyOutcome,
  type IdempotentRequest,
  idempotencyProtocol,
} from "./protocol.js";
export type { BeginInput, BeginResult, FinishInput, IdempotencyStore, StoredResponse } from "./store.js";
