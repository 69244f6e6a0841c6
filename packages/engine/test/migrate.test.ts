import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  assertSchemaCompatible,
  codeSchemaVersion,
  createPool,
  createWorker,
  Engine,
  isKeelError,
  KEEL_VERSION,
  knownMigrations,
  LAST_UNMARKED_MIGRATION,
  migrate,
  schemaSnapshot,
  schemaStatus,
} from "../src/index.js";
import { deferred, freshSchema, guardLeaks, onCleanup, testDatabaseUrl } from "./helpers.js";
import { newerMigrations } from "./newer-migrations.js";

guardLeaks();
const pool = createPool({ connectionString: testDatabaseUrl(), max: 3 });
onCleanup(() => pool.end());

test("the migrated schema matches the committed snapshot (run `npm run schema:snapshot` after a migration)", async () => {
  const schema = freshSchema("snap");
  await migrate(pool, schema);
  const committed = readFileSync(new URL("../schema.snapshot.sql", import.meta.url), "utf8");
  assert.equal(await schemaSnapshot(pool, schema), committed);
});

test("migrating twice applies nothing the second time", async () => {
  const schema = freshSchema("twice");
  const first = await migrate(pool, schema);
  assert.equal(first.applied.length, codeSchemaVersion());
  const second = await migrate(pool, schema);
  assert.deepEqual(second.applied, []);
  assert.equal(second.version, codeSchemaVersion());
});

const ADDITIVE = { kind: "additive" as const, sql: "create table rolling_probe (id int primary key)" };
const BREAKING = { kind: "breaking" as const, sql: "alter table rolling_probe rename column id to probe_id" };

test("a schema ahead by an additive migration is left as it is, and this code keeps running on it", async () => {
  const schema = freshSchema("additive");
  await migrate(pool, schema, { migrations: newerMigrations(ADDITIVE), keelVersion: "9.9.0" });
  const code = codeSchemaVersion();

  const status = await assertSchemaCompatible(pool, schema);
  assert.equal(status.dbVersion, code + 1);
  assert.equal(status.current, false);
  assert.equal(status.compatible, true);
  assert.deepEqual(status.newer, [
    { id: code + 1, name: "test_additive_1", kind: "additive", keelVersion: "9.9.0" },
  ]);
  // keel start of this code migrates: nothing to apply, nothing refused.
  assert.deepEqual((await migrate(pool, schema)).applied, []);
  const engine = await Engine.connect({ connectionString: testDatabaseUrl(), schema });
  try {
    const { id } = await engine.enqueue({ queue: "q", target: { handler: "h" } });
    assert.equal((await engine.getJob(id))?.state, "available");
  } finally {
    await engine.close();
  }
  // Releases before marks read max(id) of `migrations`: the additive migration is not there.
  const legacy = await pool.query(`select max(id)::int as v from "${schema}".migrations`);
  const required = knownMigrations().filter((m) => m.id <= LAST_UNMARKED_MIGRATION || m.kind === "breaking");
  assert.equal(legacy.rows[0].v, Math.max(...required.map((m) => m.id)));
});

test("a schema ahead by a breaking migration is refused, naming the migration and the Keel version to run", async () => {
  const schema = freshSchema("breaking");
  await migrate(pool, schema, { migrations: newerMigrations(ADDITIVE, BREAKING), keelVersion: "9.9.1" });
  const code = codeSchemaVersion();
  const expected = (err: unknown) =>
    isKeelError(err, "schema_too_new") &&
    (err as Error).message ===
      `The database schema '${schema}' is at migration ${code + 2}, and migration ${String(code + 2).padStart(4, "0")}_test_breaking_2 is breaking for this Keel (${KEEL_VERSION}, which knows migrations up to ${code}). Run Keel 9.9.1 or newer, or point KEEL_SCHEMA at another schema.`;
  await assert.rejects(Engine.connect({ connectionString: testDatabaseUrl(), schema }), expected);
  await assert.rejects(migrate(pool, schema), expected);
  const status = await schemaStatus(pool, schema);
  assert.equal(status.compatible, false);
  // The breaking migration is in `migrations` too, so releases before marks refuse as well.
  const legacy = await pool.query(`select max(id)::int as v from "${schema}".migrations`);
  assert.equal(legacy.rows[0].v, code + 2);
});

test("a schema migrated by a release before marks is logged with the marks this code knows, once", async () => {
  const schema = freshSchema("premarks");
  // What a release before marks leaves: its migrations (up to LAST_UNMARKED_MIGRATION), recorded
  // in the `migrations` table only.
  const unmarked = knownMigrations().filter((m) => m.id <= LAST_UNMARKED_MIGRATION);
  await migrate(pool, schema, { migrations: unmarked });
  await pool.query(`drop table "${schema}".migration_log`);
  const before = await schemaStatus(pool, schema);
  assert.equal(before.dbVersion, LAST_UNMARKED_MIGRATION);
  const later = knownMigrations().filter((m) => m.id > LAST_UNMARKED_MIGRATION);
  assert.deepEqual(
    (await migrate(pool, schema)).applied,
    later.map((m) => m.id),
  );
  assert.deepEqual((await migrate(pool, schema)).applied, [], "once");
  const log = await pool.query(`select id, kind, keel_version from "${schema}".migration_log order by id`);
  assert.deepEqual(log.rows, [
    ...unmarked.map((m) => ({ id: m.id, kind: m.kind, keel_version: null })),
    ...later.map((m) => ({ id: m.id, kind: m.kind, keel_version: KEEL_VERSION })),
  ]);
  // A row only `migrations` has, unknown to this code, counts as breaking.
  await pool.query(`insert into "${schema}".migrations (id, name) values (999, 'from_the_future')`);
  await assert.rejects(
    assertSchemaCompatible(pool, schema),
    (err: unknown) =>
      isKeelError(err, "schema_too_new") &&
      /Run the Keel release that applied it, or a newer one/.test((err as Error).message),
  );
});

test("by default Engine.connect checks and never migrates; an outdated schema names the command that fixes it", async () => {
  const schema = freshSchema("empty");
  const status = await schemaStatus(pool, schema);
  assert.deepEqual(status, {
    schema,
    dbVersion: 0,
    codeVersion: codeSchemaVersion(),
    keelVersion: KEEL_VERSION,
    current: false,
    compatible: false,
    newer: [],
  });
  await assert.rejects(
    assertSchemaCompatible(pool, schema),
    (err: unknown) => isKeelError(err, "schema_outdated") && /keel migrate/.test((err as Error).message),
  );
  await assert.rejects(Engine.connect({ connectionString: testDatabaseUrl(), schema }), (err: unknown) =>
    isKeelError(err, "schema_outdated"),
  );
  const created = await pool.query("select 1 from pg_namespace where nspname = $1", [schema]);
  assert.equal(created.rowCount, 0, "connecting without migrate: true did not create the schema");
  const engine = await Engine.connect({ connectionString: testDatabaseUrl(), schema, migrate: true });
  await engine.close();
  assert.equal((await schemaStatus(pool, schema)).current, true);
});

test("an SDK worker from a connection string checks the schema by default and runs on one ahead additively", async () => {
  const behind = freshSchema("worker_behind");
  const refused = createWorker({
    connectionString: testDatabaseUrl(),
    schema: behind,
    handlers: { h: async () => {} },
  });
  await assert.rejects(refused.start(), (err: unknown) => isKeelError(err, "schema_outdated"));
  const created = await pool.query("select 1 from pg_namespace where nspname = $1", [behind]);
  assert.equal(created.rowCount, 0, "the worker did not migrate");

  const ahead = freshSchema("worker_ahead");
  await migrate(pool, ahead, { migrations: newerMigrations(ADDITIVE) });
  const ran = deferred<number>();
  const worker = createWorker({
    connectionString: testDatabaseUrl(),
    schema: ahead,
    queues: ["q"],
    handlers: { h: async ({ payload }: { payload: number }) => ran.resolve(payload) },
    maintenance: false,
  });
  await worker.start();
  try {
    const engine = await Engine.connect({ connectionString: testDatabaseUrl(), schema: ahead });
    try {
      await engine.enqueue({ queue: "q", target: { handler: "h" }, payload: 7 });
    } finally {
      await engine.close();
    }
    assert.equal(await ran.promise, 7);
  } finally {
    await worker.stop();
  }
});

test("0001–0010 are all in `migrations`, the table releases before marks compare with", async () => {
  const schema = freshSchema("legacy");
  await migrate(pool, schema);
  const rows = await pool.query(`select id from "${schema}".migrations where id <= $1 order by id`, [
    LAST_UNMARKED_MIGRATION,
  ]);
  assert.deepEqual(
    rows.rows.map((r) => r.id),
    Array.from({ length: LAST_UNMARKED_MIGRATION }, (_, i) => i + 1),
  );
});

test("an invalid schema name is refused before touching the database", async () => {
  await assert.rejects(migrate(pool, 'x"; drop table y; --'), (err: unknown) =>
    isKeelError(err, "invalid_schema_name"),
  );
});

test("an unreachable database gives database_unavailable with a hint", async () => {
  await assert.rejects(
    Engine.connect({ connectionString: "postgres://postgres@127.0.0.1:1/none", migrate: true }),
    (err: unknown) => isKeelError(err, "database_unavailable") && /DATABASE_URL/.test((err as Error).message),
  );
});
