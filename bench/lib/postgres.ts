import { randomBytes } from "node:crypto";
import pg from "pg";

/** A schema name unique to this run, for one system of one scenario. */
export function benchSchema(prefix: string): string {
  return `bench_${prefix}_${randomBytes(3).toString("hex")}`;
}

/** Drops the given schemas (cascade); what a scenario calls when it is done. */
export async function dropSchemas(databaseUrl: string, schemas: readonly string[]): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (const s of schemas) await client.query(`drop schema if exists "${s}" cascade`);
  } finally {
    await client.end();
  }
}

/** The settings that decide durability, to record with the results. */
export async function durabilitySettings(databaseUrl: string): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string; setting: string }>(
      "select name, setting from pg_settings where name in ('synchronous_commit', 'fsync', 'wal_sync_method', 'full_page_writes', 'server_version', 'autovacuum') order by name",
    );
    return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
  } finally {
    await client.end();
  }
}

// The catalogs every schema created and dropped leaves dead rows in.
const CHURNED_CATALOGS = [
  "pg_attribute",
  "pg_class",
  "pg_depend",
  "pg_type",
  "pg_index",
  "pg_constraint",
  "pg_attrdef",
  "pg_proc",
  "pg_namespace",
  "pg_description",
  "pg_trigger",
  "pg_sequence",
];

/**
 * With autovacuum off (as on the machine the quoted runs use), every schema a bench or test run
 * creates and drops leaves dead rows in the system catalogs, and every new connection's catalog
 * lookups walk them: measured on 2026-12-05, pg_attribute held 310,327 dead rows beside 2,438
 * live, and fresh processes (the cold rounds) ran slower for it. Vacuums those catalogs of the
 * bench's database, as autovacuum would have; does nothing when autovacuum is on. Returns the
 * dead rows it found (pg_stat_sys_tables), or null when it did nothing.
 */
export async function vacuumCatalogsWithoutAutovacuum(databaseUrl: string): Promise<number | null> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ setting: string }>(
      "select setting from pg_settings where name = 'autovacuum'",
    );
    if (rows[0]?.setting !== "off") return null;
    const dead = await client.query<{ n: string }>(
      "select coalesce(sum(n_dead_tup), 0)::text as n from pg_stat_sys_tables where schemaname = 'pg_catalog' and relname = any($1)",
      [CHURNED_CATALOGS],
    );
    await client.query(`vacuum ${CHURNED_CATALOGS.map((t) => `pg_catalog.${t}`).join(", ")}`);
    return Number(dead.rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

/**
 * The count `sql` returns once it has settled (requests cut off when a load ended may still be
 * committing): read every 300 ms until two readings agree.
 */
export async function settledCount(databaseUrl: string, sql: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    let last = -1;
    for (;;) {
      const n = (await client.query<{ n: number }>(sql)).rows[0]?.n ?? 0;
      if (n === last) return n;
      last = n;
      await new Promise((r) => setTimeout(r, 300));
    }
  } finally {
    await client.end();
  }
}
