import type pg from "pg";

/** A `pg` connection: a `pg.Client`, or a client checked out of any `pg.Pool`. */
export type Client = pg.ClientBase;

/**
 * How an engine mutation runs and who it is recorded as.
 *
 * @example
 * // The application's own transaction: the order and its email commit together, or neither.
 * const client = await pool.connect();
 * await client.query("begin");
 * await client.query("insert into orders (id) values ($1)", [orderId]);
 * await engine.enqueue({ queue: "email", target: { handler: "orderConfirmation" }, payload: { orderId } }, { client });
 * await client.query("commit");
 */
export interface MutationOptions {
  /**
   * A client inside the caller's `BEGIN … COMMIT`. The change and its audit row join that
   * transaction: the engine neither begins nor commits, and does not touch its own pool, so a
   * rollback leaves no trace and workers hear of new jobs only at commit.
   */
  client?: Client;
  /**
   * Who made the change, recorded in the audit log: `api:token:<id>`, `cli:<user>@<host>`,
   * `engine:<name>`. Default `engine:<applicationName>`.
   */
  by?: string;
  /** From where: the client's address, the host a CLI ran on. */
  source?: string | null;
}

/** Who a change is recorded as when the caller does not say: `engine:<application name>`. */
export function engineActor(applicationName: string): string {
  return `engine:${applicationName}`;
}
