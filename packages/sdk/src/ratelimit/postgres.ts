// @keel/sdk/ratelimit/postgres: GCRA state in Postgres (through @keel/engine, an optional peer).
export { PostgresRateLimitStore, type PostgresRateLimitStoreOptions } from "./postgres-store.js";
