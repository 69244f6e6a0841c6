import pg from "pg";
import { KeelError } from "../errors.js";
import { track } from "../internal/resources.js";

// Postgres bigint (int8) comes back as a string; job ids stay strings end to end.
export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export interface PoolOptions {
  connectionString: string;
  max?: number;
  applicationName?: string;
}

/** Creates a pg pool whose idle-client errors are logged instead of crashing the process. */
export function createPool(options: PoolOptions): Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? "keel",
    connectionTimeoutMillis: 10_000,
  });
  // An idle client losing its connection (Postgres restart) must not crash the process;
  // the pool discards it and the next query opens a new one.
  pool.on("error", () => {});
  const untrack = track("pool", pool);
  const end = pool.end.bind(pool);
  let ended: Promise<void> | undefined;
  pool.end = (() => {
    ended ??= end().finally(untrack);
    return ended;
  }) as typeof pool.end;
  return pool;
}

/** Runs `fn` inside a transaction on one client, rolling back on any error. */
export async function transaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("begin");
    const result = await fn(client);
    await client.query("commit");
    return result;
  } catch (err) {
    await client.query("rollback").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** Wraps connection failures in a KeelError that says how to fix them. */
export function asDatabaseError(err: unknown): unknown {
  const code = (err as { code?: string }).code;
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "57P01" || code === "57P03") {
    return new KeelError("database_unavailable", { detail: (err as Error).message }, { cause: err });
  }
  return err;
}
