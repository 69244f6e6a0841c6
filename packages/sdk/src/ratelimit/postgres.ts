// @keel/sdk/ratelimit/postgres: GCRA state in Postgres, from @keel/engine (an optional peer).
export { PostgresRateLimitStore, type PostgresRateLimitStoreOptions } from "@keel/engine";
