import { knownMigrations, type Migration } from "../src/index.js";

/** A migration a newer Keel would carry: its mark and statements, and optionally its name. */
export interface TestMigration {
  kind: Migration["kind"];
  sql: string;
  name?: string;
}

/**
 * The shipped migrations plus `extra` numbered after them: what a newer Keel would apply, for
 * tests of schemas ahead of this code. Names default to `test_<kind>_<n>`.
 *
 * @example
 * await migrate(pool, schema, { migrations: newerMigrations({ kind: "additive", sql: "create table t (id int)" }), keelVersion: "9.9.0" });
 */
export function newerMigrations(...extra: TestMigration[]): Migration[] {
  const known = knownMigrations();
  return [
    ...known,
    ...extra.map((m, i) => ({
      id: known.length + 1 + i,
      name: m.name ?? `test_${m.kind}_${i + 1}`,
      kind: m.kind,
      sql: m.sql,
    })),
  ];
}
