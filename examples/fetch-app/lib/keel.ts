// What the route handlers share, made once per process from the environment (as a Next.js app's
// lib/ module would be): the Keel client, a rate limiter and an Idempotency-Key store, the last
// two in Keel's Postgres so every instance of the app sees the same counts and keys.
import { KeelClient } from "@keel/sdk/client";
import { postgresIdempotencyStore } from "@keel/sdk/idempotency/postgres";
import { createRateLimiter } from "@keel/sdk/next";
import { PostgresRateLimitStore } from "@keel/sdk/ratelimit/postgres";
import pg from "pg";

export function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required (see examples/fetch-app/README.md)`);
  return value;
}

export const keel = new KeelClient({ baseUrl: env("KEEL_URL"), token: env("KEEL_TOKEN") });

const pool = new pg.Pool({ connectionString: env("DATABASE_URL"), max: 4 });
export const limiter = createRateLimiter({
  store: new PostgresRateLimitStore({ pool, schema: process.env.KEEL_SCHEMA }),
  policies: [{ name: "orders", limit: 3, windowSeconds: 60 }],
  // A serverless instance often starts with a cold connection: allow it more than the 50 ms default
  // before the policy's fail mode (a per-process share of the limit) decides.
  timeoutMs: 1_000,
});

export const idempotencyStore = postgresIdempotencyStore({
  connectionString: env("DATABASE_URL"),
  schema: process.env.KEEL_SCHEMA,
});

/** Orders whose "order created" delivery arrived, verified (the app's database, in memory here). */
export const confirmed: { orderId: string; jobId: string; attempt: number }[] = [];

/** Runs of the cleanup cron route. */
export const cleanups: { fireTime: string | null }[] = [];

/** Ends the pools (on shutdown). */
export async function closeKeel(): Promise<void> {
  await limiter.close();
  await idempotencyStore.close?.();
  await pool.end();
}
