import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type AppliedMigration,
  isKeelError,
  judgeSchema,
  knownMigrations,
  migrationKind,
  newerSchemaNote,
  schemaProblem,
} from "../src/index.js";

// The compatibility rules without a database: which schemas a process of a given code version
// may run on, and what it says about the others.

const applied = (...list: [number, AppliedMigration["kind"], string | null][]): AppliedMigration[] =>
  list.map(([id, kind, keelVersion]) => ({ id, name: `m${id}`, kind, keelVersion }));
const base = applied([1, "breaking", null], [2, "additive", null], [3, "additive", "1.0.0"]);

test("a schema at the code's version is current and compatible, with nothing to say", () => {
  const s = judgeSchema("keel", base, 3, "1.0.0");
  assert.equal(s.current, true);
  assert.equal(s.compatible, true);
  assert.equal(schemaProblem(s), undefined);
  assert.equal(newerSchemaNote(s), undefined);
});

test("a schema behind the code is refused: run keel migrate", () => {
  const s = judgeSchema("keel", base, 4, "1.1.0");
  assert.equal(s.compatible, false);
  const problem = schemaProblem(s);
  assert.ok(isKeelError(problem, "schema_outdated"));
  assert.match(problem.message, /at migration 3; this Keel needs 4\. Run `keel migrate`/);
});

test("a schema ahead by additive migrations only is compatible, and the note names them and the newer Keel", () => {
  const s = judgeSchema(
    "keel",
    [...base, ...applied([4, "additive", "1.1.0"], [5, "additive", "1.2.0"])],
    3,
    "1.0.0",
  );
  assert.equal(s.current, false);
  assert.equal(s.compatible, true);
  assert.equal(schemaProblem(s), undefined);
  assert.deepEqual(
    s.newer.map((m) => m.id),
    [4, 5],
  );
  assert.equal(
    newerSchemaNote(s),
    "Migrations 4–5 were applied by a newer Keel (1.2.0); they are additive, so this Keel (1.0.0, migrations up to 3) keeps working. Deploy the newer version to this process when you can.",
  );
  const one = judgeSchema("keel", [...base, ...applied([4, "additive", "1.1.0"])], 3, "1.0.0");
  assert.match(
    newerSchemaNote(one) ?? "",
    /^Migration 4 was applied by a newer Keel \(1\.1\.0\); it is additive/,
  );
});

test("one breaking migration ahead refuses, naming the newest breaking one and the Keel that applied it", () => {
  const s = judgeSchema(
    "keel",
    [
      ...base,
      ...applied(
        [4, "breaking", "1.1.0"],
        [5, "additive", "1.2.0"],
        [6, "breaking", "1.3.0"],
        [7, "additive", "1.4.0"],
      ),
    ],
    3,
    "1.0.0",
  );
  assert.equal(s.compatible, false);
  assert.equal(newerSchemaNote(s), undefined);
  const problem = schemaProblem(s);
  assert.ok(isKeelError(problem, "schema_too_new"));
  assert.equal(
    problem.message,
    "The database schema 'keel' is at migration 7, and migration 0006_m6 is breaking for this Keel (1.0.0, which knows migrations up to 3). Run Keel 1.3.0 or newer, or point KEEL_SCHEMA at another schema.",
  );
});

test("breaking migrations the code already knows do not matter", () => {
  const s = judgeSchema(
    "keel",
    [...base, ...applied([4, "breaking", "1.1.0"], [5, "additive", "1.2.0"])],
    4,
    "1.1.0",
  );
  assert.equal(s.compatible, true);
});

test("a migration's mark is read from its header comment, exactly one", () => {
  assert.equal(
    migrationKind("0001_a.sql", "-- keel:additive — a new table\n-- 0001: title\ncreate table a ();"),
    "additive",
  );
  assert.equal(
    migrationKind("0001_a.sql", "\n-- 0001: title\n-- keel:breaking\n\ndrop table a;"),
    "breaking",
  );
  assert.throws(
    () => migrationKind("0001_a.sql", "-- 0001: no mark\ncreate table a ();"),
    /0001_a\.sql needs exactly one.*found none/,
  );
  assert.throws(
    () => migrationKind("0001_a.sql", "-- keel:additive\n-- keel:breaking\ncreate table a ();"),
    /found additive, breaking/,
  );
  assert.throws(() => migrationKind("0001_a.sql", "-- keel:harmless\nselect 1;"), /found harmless/);
  // A mark after the first statement is not a header mark.
  assert.throws(() => migrationKind("0001_a.sql", "create table a ();\n-- keel:additive\n"), /found none/);
});

test("every shipped migration carries a mark", () => {
  for (const m of knownMigrations()) assert.ok(m.kind === "additive" || m.kind === "breaking", `${m.id}`);
  assert.equal(knownMigrations()[0]?.kind, "breaking");
});
