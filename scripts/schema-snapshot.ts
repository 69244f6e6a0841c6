/**
 * Writes packages/engine/schema.snapshot.sql from a freshly migrated schema. Run after adding
 * a migration (`npm run schema:snapshot`); the schema test fails until the snapshot matches.
 */
import { writeFileSync } from "node:fs";
import { createPool, migrate, schemaSnapshot } from "../packages/engine/src/index.js";

const url =
  process.env.KEEL_TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const schema = `snapshot_${process.pid}`;
const pool = createPool({ connectionString: url, max: 1 });
try {
  await migrate(pool, schema);
  const text = await schemaSnapshot(pool, schema);
  writeFileSync(new URL("../packages/engine/schema.snapshot.sql", import.meta.url), text);
  console.log(`wrote packages/engine/schema.snapshot.sql (${text.split("\n").length} lines)`);
} finally {
  await pool.query(`drop schema if exists "${schema}" cascade`);
  await pool.end();
}
