// @keel/protocol: Keel's wire protocol, once, for every runtime (no `node:` import). Import a
// subpath (`@keel/protocol/webhooks`) to take only what you use.
export * from "./contracts/index.js";
export * from "./delivery.js";
export * from "./errors.js";
export type * from "./idempotency.js";
export * from "./json.js";
export * from "./names.js";
export * from "./ratelimit.js";
export * from "./webhooks.js";
