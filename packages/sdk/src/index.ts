// The public API of @keel/sdk.
export * from "./client/index.js";
export * from "./idempotency/index.js";
export * from "./ratelimit/index.js";
export * from "./verify/index.js";
export * from "./worker/index.js";
