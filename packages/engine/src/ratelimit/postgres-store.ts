import { decide, type RateLimitStore, type StoreEntry, type StoreOutcome } from "@keel/protocol/ratelimit";
import type { Pool } from "../db/pool.js";
import { loadStatements, type Statement } from "../db/sql.js";
import { PeriodicTask, type RunReport } from "../maintenance/periodic.js";

export interface PostgresRateLimitStoreOptions {
  /** A pg pool on the database holding Keel's schema (migration 0005 creates the table). */
  pool: Pool;
  /** Keel's schema. Default `keel`. */
  schema?: string;
  /** False when `pool` goes through a transaction-mode pooler: statements run unnamed. Default true. */
  namedStatements?: boolean;
  /** Sweep expired rows this often once checks have started. Default 60,000; 0: never (call `sweep()`). */
  sweepIntervalMs?: number;
  /** Rows looked at per sweep statement. Default 1,000. */
  sweepBatch?: number;
  /** After every background sweep: how many rows went, or the error (a failed sweep is retried within seconds). */
  onSweep?(report: RunReport<number>): void;
}

const FILES = ["ratelimit_lock", "ratelimit_update", "ratelimit_sweep"] as const;

interface LockRow {
  policy: string;
  key: string;
  tat: string;
  now_us: string;
}

/**
 * GCRA state in Keel's Postgres schema (`rate_limits`, unlogged). A check is one short
 * transaction: lock the rows of every policy in (policy, key) order, read their TATs and the
 * database clock, decide, then store the new TATs or roll back (a refusal writes nothing).
 * Rows whose TAT has passed are swept in batches once a minute in the background, from the first
 * check until `close()`; the timer never keeps the process alive.
 *
 * @example
 * const store = new PostgresRateLimitStore({ pool: engine.pool, schema: engine.schema });
 */
export class PostgresRateLimitStore implements RateLimitStore {
  readonly kind = "postgres";
  private readonly pool: Pool;
  private readonly sql: Record<(typeof FILES)[number], Statement>;
  private readonly sweepBatch: number;
  /** Started by the first check, so a store that is never used runs no timer. */
  private readonly sweeper: PeriodicTask<number> | undefined;

  constructor(options: PostgresRateLimitStoreOptions) {
    this.pool = options.pool;
    this.sql = loadStatements(options.schema ?? "keel", FILES, { named: options.namedStatements });
    this.sweepBatch = options.sweepBatch ?? 1_000;
    const intervalMs = options.sweepIntervalMs ?? 60_000;
    if (intervalMs > 0) {
      this.sweeper = new PeriodicTask({
        name: "ratelimit-sweep",
        intervalMs,
        run: () => this.sweep(),
        unref: true,
        onRun: options.onSweep,
      });
    }
  }

  async consume(entries: readonly StoreEntry[]): Promise<StoreOutcome> {
    this.sweeper?.start();
    const policies = entries.map((e) => e.policy);
    const keys = entries.map((e) => e.key);
    const client = await this.pool.connect();
    // A pool the application made may not listen for errors on checked-out clients: Postgres
    // going away between two statements would otherwise end the process.
    client.on("error", ignore);
    let broken: unknown;
    try {
      await client.query("begin");
      const { text, name } = this.sql.ratelimit_lock;
      const { rows } = await client.query<LockRow>({ name, text, values: [policies, keys] });
      const byId = new Map(rows.map((r) => [`${r.policy}\u0000${r.key}`, Number(r.tat)]));
      const nowUs = Math.max(...rows.map((r) => Number(r.now_us)));
      const tats = entries.map((e) => byId.get(`${e.policy}\u0000${e.key}`) ?? 0);
      const { admitted, newTats } = decide(nowUs, tats, entries);
      if (admitted) {
        const update = this.sql.ratelimit_update;
        await client.query({ name: update.name, text: update.text, values: [policies, keys, newTats] });
        await client.query("commit");
      } else {
        // Drops the placeholder rows and the no-op locks: a refusal writes nothing.
        await client.query("rollback");
      }
      return { nowUs, tats, admitted };
    } catch (err) {
      broken = err;
      await client.query("rollback").catch(() => {});
      throw err;
    } finally {
      // A client whose connection failed is discarded, not returned to the pool.
      client.off("error", ignore);
      client.release(broken instanceof Error && !("severity" in broken) ? broken : undefined);
    }
  }

  /** Deletes every row whose TAT has passed, in batches; returns how many went. */
  async sweep(): Promise<number> {
    const { text, name } = this.sql.ratelimit_sweep;
    let after: [string, string] = ["", ""];
    let deleted = 0;
    for (;;) {
      const { rows } = await this.pool.query<{ policy: string | null; key: string | null; deleted: number }>({
        name,
        text,
        values: [...after, this.sweepBatch],
      });
      const row = rows[0];
      deleted += row?.deleted ?? 0;
      if (!row?.policy || row.key === null) return deleted;
      after = [row.policy, row.key];
    }
  }

  /** Stops the background sweep and waits for one in progress; the pool stays open (it is the caller's). */
  async close(): Promise<void> {
    await this.sweeper?.stop();
  }
}

function ignore(): void {}
