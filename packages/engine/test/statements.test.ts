import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { STATEMENTS } from "../src/db/statements.js";
import { loadStatements } from "../src/index.js";

const SQL_DIR = fileURLToPath(new URL("../sql", import.meta.url));

// The runtime statements as the loader serves them: every placeholder filled, and the terminal
// job transition written once (decision 034). The loader reads src/generated/sql.ts; the files
// are its source (generated.test.ts checks the two agree).

const ENDING = ["complete", "fail", "cancel", "sweep_leases", "sweep_leases_scan"] as const;

test("every statement loads with its placeholders and includes filled", () => {
  const loaded = loadStatements("keel", STATEMENTS);
  for (const name of STATEMENTS) {
    const { text } = loaded[name];
    assert.doesNotMatch(text, /\{\{/, `${name}: a placeholder was left in`);
  }
});

test("the terminal job transition is written once: only the fragment inserts into job_history", () => {
  const writers = readdirSync(SQL_DIR)
    .filter((f) => f.endsWith(".sql"))
    .filter((f) =>
      /insert\s+into\s+\{\{schema\}\}\.job_history/i.test(readFileSync(`${SQL_DIR}/${f}`, "utf8")),
    );
  assert.deepEqual(writers, [], "statements insert into job_history themselves");
  const loaded = loadStatements("keel", ENDING);
  for (const name of ENDING) {
    const raw = readFileSync(`${SQL_DIR}/${name}.sql`, "utf8");
    assert.match(raw, /^\{\{include to_history\}\},?$/m, `${name} includes the fragment`);
    assert.match(loaded[name].text, /insert into "keel"\.job_history/, `${name}: the fragment's text is in`);
    assert.match(loaded[name].text, /insert into "keel"\.attempts/);
  }
});

test("a statement that has no file is refused by name", () => {
  assert.throws(
    () => loadStatements("keel", ["no_such_statement" as "enqueue"]),
    /unknown statement "no_such_statement": @keel\/engine has no sql\/no_such_statement\.sql/,
  );
});
