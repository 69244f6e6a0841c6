import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  assertSchemaCurrent,
  codeSchemaVersion,
  createPool,
  Engine,
  isKeelError,
  migrate,
  schemaSnapshot,
  schemaStatus,
} from "../src/index.js";
import { freshSchema, guardLeaks, onCleanup, testDatabaseUrl } from "./helpers.js";

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

test("a binary older than the database schema refuses to start, saying why", async () => {
  const schema = freshSchema("newer");
  await migrate(pool, schema);
  await pool.query(`insert into "${schema}".migrations (id, name) values (999, 'from_the_future')`);
  await assert.rejects(
    Engine.connect({ connectionString: testDatabaseUrl(), schema }),
    (err: unknown) =>
      isKeelError(err, "schema_too_new") &&
      /at migration 999, newer than this Keel binary knows/.test((err as Error).message),
  );
  await assert.rejects(migrate(pool, schema), (err: unknown) => isKeelError(err, "schema_too_new"));
});

test("without migrating, an outdated schema is reported with the command that fixes it", async () => {
  const schema = freshSchema("empty");
  const status = await schemaStatus(pool, schema);
  assert.deepEqual(status, { schema, dbVersion: 0, codeVersion: codeSchemaVersion(), current: false });
  await assert.rejects(
    assertSchemaCurrent(pool, schema),
    (err: unknown) => isKeelError(err, "schema_outdated") && /keel migrate/.test((err as Error).message),
  );
  await assert.rejects(
    Engine.connect({ connectionString: testDatabaseUrl(), schema, migrate: false }),
    (err: unknown) => isKeelError(err, "schema_outdated"),
  );
});

test("an invalid schema name is refused before touching the database", async () => {
  await assert.rejects(migrate(pool, 'x"; drop table y; --'), (err: unknown) =>
    isKeelError(err, "invalid_schema_name"),
  );
});

test("an unreachable database gives database_unavailable with a hint", async () => {
  await assert.rejects(
    Engine.connect({ connectionString: "postgres://postgres@127.0.0.1:1/none" }),
    (err: unknown) => isKeelError(err, "database_unavailable") && /DATABASE_URL/.test((err as Error).message),
  );
});
