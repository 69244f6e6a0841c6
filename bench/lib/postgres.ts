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
      "select name, setting from pg_settings where name in ('synchronous_commit', 'fsync', 'wal_sync_method', 'full_page_writes', 'server_version') order by name",
    );
    return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
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
