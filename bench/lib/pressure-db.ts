/**
 * The Postgres side of the pressure scenario: a database of its own per system (so the idle
 * transaction and the readers pin only that database's vacuum horizon, and the storm can name
 * its victims exactly), and the pressure itself: a session holding an XID, REPEATABLE READ
 * readers, a pg_terminate_backend storm, idle connections, and dead-tuple sampling.
 *
 * Every harness session sets an application_name starting with HARNESS, which the storm spares.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

export const HARNESS = "pressure-harness";

/** `url` pointed at database `db` with `application_name`. */
export function databaseUrlOf(url: string, db: string, applicationName: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  u.searchParams.set("application_name", applicationName);
  return u.toString();
}

function client(url: string, db: string, name: string): pg.Client {
  const c = new pg.Client({ connectionString: databaseUrlOf(url, db, `${HARNESS}-${name}`) });
  // A harness session ended from outside (the database dropped at cleanup) must not crash the run.
  c.on("error", () => {});
  return c;
}

/** The database of the admin URL (where CREATE DATABASE runs). */
function adminDb(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1)) || "postgres";
}

/** Creates an empty database with a name unique to this run. */
export async function createDatabase(url: string, prefix: string): Promise<string> {
  const name = `bench_pressure_${prefix}_${randomBytes(3).toString("hex")}`;
  const c = client(url, adminDb(url), "admin");
  await c.connect();
  try {
    await c.query(`create database "${name}"`);
  } finally {
    await c.end();
  }
  return name;
}

/** Drops a database made by `createDatabase`, ending whatever is still connected to it. */
export async function dropDatabase(url: string, name: string): Promise<void> {
  const c = client(url, adminDb(url), "admin");
  await c.connect();
  try {
    await c.query(`drop database if exists "${name}" with (force)`);
  } finally {
    await c.end();
  }
}

/** A session that ran `BEGIN; SELECT txid_current();` and stays idle in that transaction. */
export async function holdXid(url: string, db: string): Promise<{ xid: string; release(): Promise<void> }> {
  const c = client(url, db, "idle-xact");
  await c.connect();
  // The server's timeouts must not end the transaction for us.
  await c.query("set idle_in_transaction_session_timeout = 0");
  await c.query("set statement_timeout = 0");
  await c.query("begin");
  const { rows } = await c.query<{ xid: string }>("select txid_current()::text as xid");
  let released = false;
  return {
    xid: rows[0]?.xid as string,
    release: async () => {
      if (released) return;
      released = true;
      await c.query("commit").catch(() => {});
      await c.end().catch(() => {});
    },
  };
}

export interface Readers {
  stop(): Promise<{ transactions: number; scans: number }>;
}

/**
 * `n` sessions, each in a loop of REPEATABLE READ transactions of about `transactionMs`, counting
 * every table of `schema` over and over inside each (an analytics reader's long snapshot).
 */
export async function startReaders(
  url: string,
  db: string,
  schema: string,
  n: number,
  transactionMs: number,
): Promise<Readers> {
  const lister = client(url, db, "readers-list");
  await lister.connect();
  const { rows } = await lister.query<{ t: string }>(
    "select format('%I.%I', schemaname, relname) as t from pg_stat_user_tables where schemaname = $1 order by relname",
    [schema],
  );
  await lister.end();
  const tables = rows.map((r) => r.t);
  let stopping = false;
  let transactions = 0;
  let scans = 0;
  const loops: Promise<void>[] = [];
  const clients: pg.Client[] = [];
  for (let i = 0; i < n; i++) {
    const c = client(url, db, `reader-${i}`);
    await c.connect();
    clients.push(c);
    loops.push(
      (async () => {
        while (!stopping) {
          await c.query("begin isolation level repeatable read");
          // Start at a different table each, so the four are not in lockstep.
          let j = i;
          const until = performance.now() + transactionMs;
          do {
            await c.query(`select count(*) from ${tables[j++ % tables.length]}`);
            scans++;
          } while (!stopping && performance.now() < until && tables.length > 0);
          await c.query("commit");
          transactions++;
        }
      })().catch(() => {}),
    );
  }
  return {
    stop: async () => {
      stopping = true;
      await Promise.all(loops);
      for (const c of clients) await c.end().catch(() => {});
      return { transactions, scans };
    },
  };
}

export interface Storm {
  stop(): Promise<{ rounds: number; killed: number; applicationNames: string[] }>;
}

/**
 * Every 1–2 s, terminates every backend connected to the system's own database `db`, except the
 * harness's (by application_name). Nothing outside `db` is touched.
 */
export async function startStorm(url: string, db: string): Promise<Storm> {
  const c = client(url, adminDb(url), "storm");
  await c.connect();
  let stopping = false;
  let rounds = 0;
  let killed = 0;
  const names = new Set<string>();
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (!stopping) {
      const { rows } = await c.query<{ name: string; ok: boolean }>(
        `select application_name as name, pg_terminate_backend(pid) as ok
           from pg_stat_activity
          where datname = $1 and pid <> pg_backend_pid() and backend_type = 'client backend'
            and application_name not like $2`,
        [db, `${HARNESS}%`],
      );
      rounds++;
      for (const r of rows)
        if (r.ok) {
          killed++;
          names.add(r.name);
        }
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 1_000 + Math.random() * 1_000);
      });
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      wake?.();
      await loop;
      await c.end();
      return { rounds, killed, applicationNames: [...names].sort() };
    },
  };
}

/**
 * Opens up to `wanted` idle connections to `db`, but never more than the server has room for
 * minus `margin` (max_connections − reserved − connections in use − margin). Returns how many.
 */
export async function holdIdleConnections(
  url: string,
  db: string,
  wanted: number,
  margin: number,
): Promise<{ held: number; maxConnections: number; release(): Promise<void> }> {
  const probe = client(url, db, "idle-probe");
  await probe.connect();
  const { rows } = await probe.query<{ max: number; reserved: number; used: number }>(
    `select current_setting('max_connections')::int as max,
            current_setting('superuser_reserved_connections')::int as reserved,
            (select count(*)::int from pg_stat_activity where backend_type = 'client backend') as used`,
  );
  await probe.end();
  const r = rows[0] as { max: number; reserved: number; used: number };
  const room = Math.max(0, r.max - r.reserved - r.used - margin);
  const target = Math.min(wanted, room);
  const held: pg.Client[] = [];
  for (let i = 0; i < target; i += 20) {
    const batch = Array.from({ length: Math.min(20, target - i) }, (_, j) =>
      client(url, db, `idle-${i + j}`),
    );
    const ok = await Promise.allSettled(batch.map((c) => c.connect()));
    batch.forEach((c, j) => {
      if (ok[j]?.status === "fulfilled") held.push(c);
    });
  }
  return {
    held: held.length,
    maxConnections: r.max,
    release: async () => {
      await Promise.all(held.map((c) => c.end().catch(() => {})));
    },
  };
}

/** Samples n_dead_tup of every table of `schema` (pg_stat_user_tables), one query a call. */
export async function deadTupleSampler(
  url: string,
  db: string,
  schema: string,
): Promise<{ sample(): Promise<Record<string, number>>; close(): Promise<void> }> {
  let c = client(url, db, "dead-tuples");
  await c.connect();
  return {
    sample: async () => {
      try {
        const { rows } = await c.query<{ t: string; n: number }>(
          "select relname as t, n_dead_tup::int as n from pg_stat_user_tables where schemaname = $1",
          [schema],
        );
        return Object.fromEntries(rows.map((r) => [r.t, r.n]));
      } catch {
        // Reconnect once; a lost sample is skipped.
        await c.end().catch(() => {});
        c = client(url, db, "dead-tuples");
        await c.connect().catch(() => {});
        return {};
      }
    },
    close: () => c.end().catch(() => {}),
  };
}
