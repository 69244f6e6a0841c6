import type pg from "pg";
import { quoteSchema } from "../db/sql.js";
import { KeelError } from "../errors.js";
import { type AppliedMigration, judgeSchema, type SchemaStatus, schemaProblem } from "./compatibility.js";
import { KEEL_VERSION, knownMigrations, LAST_UNMARKED_MIGRATION, type Migration } from "./migrations.js";

export interface MigrateResult {
  /** Migration ids applied by this call (empty when another process got there first). */
  applied: number[];
  version: number;
  /** The schema after this call, as this code judges it (`newer` when a newer Keel migrated it). */
  status: SchemaStatus;
}

export interface MigrationSetOptions {
  /** The migrations this code knows. Default: the ones shipped with the engine (tests inject others). */
  migrations?: readonly Migration[];
  /** The Keel version recorded with what this call applies. Default: this engine's. */
  keelVersion?: string;
}

type Queryable = Pick<pg.Pool, "connect">;

/**
 * Applies pending migrations to `schema` in one transaction under an advisory lock, so any
 * number of processes starting at once migrate exactly once. Refuses a schema that a breaking
 * migration made newer than this code; a schema newer only by additive migrations is left as
 * it is (a newer Keel migrated it during a rolling deploy).
 */
export async function migrate(
  pool: Queryable,
  schema: string,
  options: MigrationSetOptions = {},
): Promise<MigrateResult> {
  const quoted = quoteSchema(schema);
  const migrations = options.migrations ?? knownMigrations();
  const keelVersion = options.keelVersion ?? KEEL_VERSION;
  const client = await pool.connect().catch((err: unknown) => Promise.reject(explainConnectError(err)));
  try {
    await client.query("begin");
    // Waits for any concurrent migrator; the lock is released at commit.
    await client.query("select pg_advisory_xact_lock(hashtext($1))", [`keel.migrate:${schema}`]);
    await client.query(`create schema if not exists ${quoted}`);
    // Releases before marks read max(id) here and require it to equal their own version, so this
    // table holds only what every process must know: 0001–0010 and breaking migrations after.
    await client.query(
      `create table if not exists ${quoted}.migrations (
         id integer primary key, name text not null, applied_at timestamptz not null default now())`,
    );
    // Every applied migration, with its mark and the Keel that applied it.
    await client.query(
      `create table if not exists ${quoted}.migration_log (
         id integer primary key, name text not null,
         kind text not null check (kind in ('additive', 'breaking')),
         keel_version text, applied_at timestamptz not null default now())`,
    );
    // A schema migrated by a release before marks has rows only in `migrations`: log them once.
    await client.query(
      `insert into ${quoted}.migration_log (id, name, kind, applied_at)
       select m.id, m.name, coalesce(k.kind, 'breaking'), m.applied_at
       from ${quoted}.migrations m
       left join unnest($1::int[], $2::text[]) as k (id, kind) on k.id = m.id
       on conflict (id) do nothing`,
      [migrations.map((m) => m.id), migrations.map((m) => m.kind)],
    );
    const status = judgeSchema(
      schema,
      await readApplied(client, quoted, migrations),
      codeVersion(migrations),
    );
    if (status.dbVersion > status.codeVersion && !status.compatible) throw schemaProblem(status);
    const applied: number[] = [];
    for (const migration of migrations.filter((m) => m.id > status.dbVersion)) {
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
      await client.query(
        `insert into ${quoted}.migration_log (id, name, kind, keel_version) values ($1, $2, $3, $4)`,
        [migration.id, migration.name, migration.kind, keelVersion],
      );
      if (migration.id <= LAST_UNMARKED_MIGRATION || migration.kind === "breaking") {
        await client.query(`insert into ${quoted}.migrations (id, name) values ($1, $2)`, [
          migration.id,
          migration.name,
        ]);
      }
      applied.push(migration.id);
    }
    const after =
      applied.length === 0
        ? status
        : judgeSchema(schema, await readApplied(client, quoted, migrations), codeVersion(migrations));
    await client.query("commit");
    return { applied, version: after.dbVersion, status: after };
  } catch (err) {
    await client.query("rollback").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

export type { AppliedMigration, SchemaStatus } from "./compatibility.js";

/** Reads the schema's migrations and judges them against this code, changing nothing (readiness checks). */
export async function schemaStatus(
  pool: Pick<pg.Pool, "query">,
  schema: string,
  options: Pick<MigrationSetOptions, "migrations"> = {},
): Promise<SchemaStatus> {
  const quoted = quoteSchema(schema);
  const migrations = options.migrations ?? knownMigrations();
  const applied = await readApplied(pool, quoted, migrations).catch((err: unknown) =>
    Promise.reject(explainConnectError(err)),
  );
  return judgeSchema(schema, applied, codeVersion(migrations));
}

/**
 * Throws unless this code may run on the schema: at its version, or ahead of it by additive
 * migrations only (`schema_outdated`, `schema_too_new`).
 */
export async function assertSchemaCompatible(
  pool: Pick<pg.Pool, "query">,
  schema: string,
  options: Pick<MigrationSetOptions, "migrations"> = {},
): Promise<SchemaStatus> {
  const status = await schemaStatus(pool, schema, options);
  const problem = schemaProblem(status);
  if (problem) throw problem;
  return status;
}

function codeVersion(migrations: readonly Migration[]): number {
  return migrations.reduce((max, m) => Math.max(max, m.id), 0);
}

/**
 * The applied migrations: the log, plus rows only `migrations` has (a schema no marked release
 * migrated yet), marked as this code knows them; unknown ones count as breaking.
 */
async function readApplied(
  client: Pick<pg.Pool, "query">,
  quoted: string,
  migrations: readonly Migration[],
): Promise<AppliedMigration[]> {
  const tables = await client.query<{ legacy: boolean; log: boolean }>(
    "select to_regclass($1) is not null as legacy, to_regclass($2) is not null as log",
    [`${quoted}.migrations`, `${quoted}.migration_log`],
  );
  const { legacy, log } = tables.rows[0] ?? { legacy: false, log: false };
  const byId = new Map<number, AppliedMigration>();
  if (log) {
    const rows = await client.query<{
      id: number;
      name: string;
      kind: AppliedMigration["kind"];
      keel_version: string | null;
    }>(`select id, name, kind, keel_version from ${quoted}.migration_log`);
    for (const r of rows.rows)
      byId.set(r.id, { id: r.id, name: r.name, kind: r.kind, keelVersion: r.keel_version });
  }
  if (legacy) {
    const kinds = new Map(migrations.map((m) => [m.id, m.kind]));
    const rows = await client.query<{ id: number; name: string }>(
      `select id, name from ${quoted}.migrations`,
    );
    for (const r of rows.rows) {
      if (!byId.has(r.id))
        byId.set(r.id, { id: r.id, name: r.name, kind: kinds.get(r.id) ?? "breaking", keelVersion: null });
    }
  }
  return [...byId.values()].sort((a, b) => a.id - b.id);
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
