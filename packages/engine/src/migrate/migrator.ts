import type pg from "pg";
import { quoteSchema } from "../db/sql.js";
import { KeelError } from "../errors.js";
import { codeSchemaVersion, knownMigrations } from "./migrations.js";

export interface MigrateResult {
  /** Migration ids applied by this call (empty when another process got there first). */
  applied: number[];
  version: number;
}

type Queryable = Pick<pg.Pool, "connect">;

/**
 * Applies pending migrations to `schema` in one transaction under an advisory lock, so any
 * number of processes starting at once migrate exactly once. Refuses to touch a schema that
 * is newer than this code.
 */
export async function migrate(pool: Queryable, schema: string): Promise<MigrateResult> {
  const quoted = quoteSchema(schema);
  const client = await pool.connect().catch((err: unknown) => Promise.reject(explainConnectError(err)));
  try {
    await client.query("begin");
    // Waits for any concurrent migrator; the lock is released at commit.
    await client.query("select pg_advisory_xact_lock(hashtext($1))", [`keel.migrate:${schema}`]);
    await client.query(`create schema if not exists ${quoted}`);
    await client.query(
      `create table if not exists ${quoted}.migrations (
         id integer primary key, name text not null, applied_at timestamptz not null default now())`,
    );
    const current = await dbVersion(client, quoted);
    const code = codeSchemaVersion();
    if (current > code) {
      throw new KeelError("schema_too_new", { schema, dbVersion: current, codeVersion: code });
    }
    const applied: number[] = [];
    for (const migration of knownMigrations().filter((m) => m.id > current)) {
      await client.query(`set local search_path to ${quoted}, public`);
      try {
        await client.query(migration.sql);
      } catch (err) {
        throw new KeelError(
          "migration_failed",
          { migration: `${migration.id}_${migration.name}`, detail: (err as Error).message },
          { cause: err },
        );
      }
      await client.query(`insert into ${quoted}.migrations (id, name) values ($1, $2)`, [
        migration.id,
        migration.name,
      ]);
      applied.push(migration.id);
    }
    await client.query("commit");
    return { applied, version: Math.max(current, ...applied) };
  } catch (err) {
    await client.query("rollback").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

export interface SchemaStatus {
  schema: string;
  dbVersion: number;
  codeVersion: number;
  current: boolean;
}

/** Reads the schema's migration level without changing anything (for readiness checks). */
export async function schemaStatus(pool: Pick<pg.Pool, "query">, schema: string): Promise<SchemaStatus> {
  const quoted = quoteSchema(schema);
  const exists = await pool
    .query("select to_regclass($1) is not null as ok", [`${quoted}.migrations`])
    .catch((err: unknown) => Promise.reject(explainConnectError(err)));
  const version = exists.rows[0]?.ok ? await dbVersion(pool, quoted) : 0;
  const code = codeSchemaVersion();
  return { schema, dbVersion: version, codeVersion: code, current: version === code };
}

/** Throws unless the schema is exactly at this code's version. */
export async function assertSchemaCurrent(pool: Pick<pg.Pool, "query">, schema: string): Promise<void> {
  const status = await schemaStatus(pool, schema);
  if (status.dbVersion > status.codeVersion) {
    throw new KeelError("schema_too_new", {
      schema,
      dbVersion: status.dbVersion,
      codeVersion: status.codeVersion,
    });
  }
  if (!status.current) {
    throw new KeelError("schema_outdated", {
      schema,
      dbVersion: status.dbVersion,
      codeVersion: status.codeVersion,
    });
  }
}

async function dbVersion(client: Pick<pg.Pool, "query">, quoted: string): Promise<number> {
  const res = await client.query(`select coalesce(max(id), 0)::int as v from ${quoted}.migrations`);
  return res.rows[0]?.v ?? 0;
}

/**
 * A connection refused for a reason the operator fixes in DATABASE_URL or on the server: the
 * database named does not exist (SQLSTATE 3D000). Anything else is returned as it is.
 */
export function explainConnectError(err: unknown): unknown {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (e?.code !== "3D000") return err;
  const database = /database "(.*)" does not exist/.exec(String(e.message))?.[1] ?? "(unknown)";
  return new KeelError("database_not_found", { database }, { cause: err });
}
