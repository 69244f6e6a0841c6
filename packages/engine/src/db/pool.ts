import pg from "pg";
import { KeelError } from "../errors.js";
import { track } from "../internal/resources.js";
import { Availability } from "./availability.js";
import { errorText, isConnectionError } from "./connection-errors.js";

export { errorText, isConnectionError };

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

/** How long opening a connection (or waiting for a free one) may take. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

export interface PoolOptions {
  connectionString: string;
  max?: number;
  applicationName?: string;
  /** Opening a connection, or waiting for a free one, fails after this. Default 5 s. */
  connectTimeoutMs?: number;
  /**
   * Watch Postgres with a probe on its own connection (see `Availability`): while the server
   * does not answer within `timeoutMs`, queries fail at once with `database_unavailable`
   * instead of waiting. Default off; the `keel` server turns it on.
   */
  watch?: { timeoutMs?: number; intervalMs?: number };
}

/**
 * The pool's type parsers: the driver's, except that a bigint (int8) is its text as it comes, a
 * string, without the driver's per-value pattern test (a claim reads four a job). Job ids stay
 * strings end to end, also when the application has set a global int8 parser for its own pool.
 */
const INT8_OID = 20;
const asText = (value: string) => value;
const TYPES = {
  getTypeParser: (oid: number, format?: "text" | "binary") =>
    oid === INT8_OID && format !== "binary" ? asText : pg.types.getTypeParser(oid, format),
} as pg.CustomTypesConfig;

/**
 * Creates a pg pool that survives Postgres going away: no client, idle or checked out, can
 * crash the process with an unhandled 'error' event, and with `watch` no query waits on a
 * server that does not answer.
 */
export function createPool(options: PoolOptions): Pool {
  const pool: Pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? "keel",
    connectionTimeoutMillis: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    types: TYPES,
  });
  // An idle client losing its connection (Postgres restart) must not crash the process;
  // the pool discards it and the next query opens a new one.
  pool.on("error", () => {});
  // The pool listens for errors on idle clients only: a checked-out client (a transaction, the
  // scheduler's tick) whose server goes away between two queries emits 'error' with nobody
  // listening, which ends the process. Its queries still fail, and their callers see that.
  pool.on("connect", (client) => {
    client.on("error", () => {});
  });
  let availability: Availability | undefined;
  if (options.watch) {
    availability = new Availability({
      connectionString: options.connectionString,
      applicationName: options.applicationName,
      ...options.watch,
    });
    guardPool(pool, availability);
    availability.start();
  }
  const untrack = track("pool", pool);
  const end = pool.end.bind(pool);
  let ended: Promise<void> | undefined;
  pool.end = (() => {
    ended ??= Promise.all([end(), availability?.stop()])
      .then(() => {})
      .finally(untrack);
    return ended;
  }) as typeof pool.end;
  return pool;
}

const watched = new WeakMap<Pool, Availability>();

/** The watch of a pool made with `watch`, for health output and tests. */
export function poolAvailability(pool: Pool): Availability | undefined {
  return watched.get(pool);
}

/** Routes the pool's promise-style queries and checkouts, and its clients' queries, through `guard`. */
function guardPool(pool: Pool, availability: Availability): void {
  watched.set(pool, availability);
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  pool.query = ((...args: unknown[]) => {
    if (typeof args[args.length - 1] === "function") return query(...args);
    return availability.guard(query(...args) as Promise<unknown>);
  }) as typeof pool.query;
  const connect = pool.connect.bind(pool) as (...args: unknown[]) => unknown;
  pool.connect = ((...args: unknown[]) => {
    if (args.length > 0) return connect(...args);
    const checkout = connect() as Promise<PoolClient>;
    return availability.guard(checkout).catch((err: unknown) => {
      // A checkout that completes after we gave up must go back, or the pool leaks it.
      checkout.then((client) => client.release(err as Error)).catch(() => {});
      throw err;
    });
  }) as typeof pool.connect;
  pool.on("connect", (client) => {
    const clientQuery = client.query.bind(client) as (...args: unknown[]) => unknown;
    client.query = ((...args: unknown[]) => {
      const first = args[0] as { submit?: unknown } | undefined;
      // pg-pool's own pool.query passes a callback; submittables (cursors) stream: leave both.
      if (typeof args[args.length - 1] === "function" || typeof first?.submit === "function") {
        return clientQuery(...args);
      }
      return availability.guard(clientQuery(...args) as Promise<unknown>);
    }) as typeof client.query;
  });
}

/**
 * Runs `fn` inside a transaction on one client, rolling back on any error. `begin` opens it (a
 * read that needs one snapshot passes `begin isolation level repeatable read read only`).
 */
export async function transaction<T>(
  pool: Pool,
  fn: (client: PoolClient) => Promise<T>,
  begin = "begin",
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(begin);
    const result = await fn(client);
    await client.query("commit");
    return result;
  } catch (err) {
    // A connection that failed, or a query given up on, leaves the client unusable: it is
    // discarded instead of going back to the pool with a statement still pending.
    if (isConnectionError(err)) broken = err as Error;
    else await client.query("rollback").catch(() => {});
    throw err;
  } finally {
    client.release(broken);
  }
}

/** Wraps connection failures in a KeelError that says how to fix them. */
export function asDatabaseError(err: unknown): unknown {
  if ((err as { name?: unknown } | null)?.name === "KeelError" || !isConnectionError(err)) return err;
  return new KeelError("database_unavailable", { detail: errorText(err) }, { cause: err });
}
