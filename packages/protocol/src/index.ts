// @keel/protocol: Keel's wire protocol, once, for every runtime (no `node:` import). Import a
// subpath (`@keel/protocol/webhooks`) to take only what you use.

export * from "./contracts/index.js";
export * from "./errors.js";
export * from "./names.js";
