import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { generatedModules, ROOT } from "../../../scripts/generated-modules.js";
import { PACKAGE_VERSION as SERVER_VERSION } from "../../server/src/generated/version.js";
import { MIGRATIONS } from "../src/generated/migrations.js";
import { STATEMENT_SQL } from "../src/generated/sql.js";
import { PACKAGE_VERSION } from "../src/generated/version.js";
import { onCleanup } from "./helpers.js";

// The statements, migrations and versions are built into TypeScript modules (decision 035); the
// .sql files and package.json stay their source. These tests keep the committed modules equal to
// what their sources generate, and the generated values equal to the files' text.

const ENGINE = fileURLToPath(new URL("../", import.meta.url));
const read = (path: string) => readFileSync(path, "utf8");

test("every generated module is what its sources generate now (else run `npm run generate`)", () => {
  const modules = generatedModules();
  assert.ok(modules.length >= 4);
  for (const { path, text } of modules) {
    assert.equal(read(join(ROOT, path)), text, `${path} is stale: run \`npm run generate\` and commit it`);
  }
});

test("the generated statements are the sql/ files' exact text, with each include replaced by its fragment", () => {
  const files = readdirSync(join(ENGINE, "sql")).filter((f) => f.endsWith(".sql"));
  assert.deepEqual(Object.keys(STATEMENT_SQL).sort(), files.map((f) => f.slice(0, -4)).sort());
  for (const file of files) {
    const expected = read(join(ENGINE, "sql", file)).replace(
      /\{\{include ([a-z_]+)\}\}/g,
      (_, name: string) => read(join(ENGINE, "sql/fragments", `${name}.sql`)).trimEnd(),
    );
    assert.equal(STATEMENT_SQL[file.slice(0, -4) as keyof typeof STATEMENT_SQL], expected, file);
  }
});

test("the generated migrations are the migrations/ files' exact text, in order, with their marks", () => {
  const files = readdirSync(join(ENGINE, "migrations")).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f));
  assert.deepEqual(
    MIGRATIONS.map((m) => `${String(m.id).padStart(4, "0")}_${m.name}.sql`),
    files.sort(),
  );
  for (const m of MIGRATIONS) {
    const sql = read(join(ENGINE, "migrations", `${String(m.id).padStart(4, "0")}_${m.name}.sql`));
    assert.equal(m.sql, sql, m.name);
    assert.match(sql, new RegExp(`^-- keel:${m.kind}\\b`, "m"));
  }
});

test("the generated versions are the packages' versions", () => {
  assert.equal(PACKAGE_VERSION, JSON.parse(read(join(ENGINE, "package.json"))).version);
  assert.equal(SERVER_VERSION, JSON.parse(read(join(ROOT, "packages/server/package.json"))).version);
});

/** A copy of the generator's sources in a temp dir, removed when the file ends. */
function sourcesCopy(): string {
  const root = mkdtempSync(join(tmpdir(), "keel-generate-"));
  onCleanup(() => rmSync(root, { recursive: true, force: true }));
  for (const pkg of ["engine", "server"]) {
    cpSync(join(ROOT, "packages", pkg, "package.json"), join(root, "packages", pkg, "package.json"));
  }
  for (const dir of ["migrations", "sql"]) {
    cpSync(join(ENGINE, dir), join(root, "packages/engine", dir), { recursive: true });
  }
  const assets = "packages/server/src/console/assets";
  cpSync(join(ROOT, assets), join(root, assets), { recursive: true });
  return root;
}

test("text a template literal would change comes through exactly: backslashes, backticks, ${, \\r", async () => {
  const root = sourcesCopy();
  const tricky = "select E'a\\\\b\\n', '`${x}`', $$\\$${}$$;\r\nselect 1;\n";
  writeFileSync(join(root, "packages/engine/sql/tricky.sql"), tricky);
  const module = generatedModules(root).find((m) => m.path.endsWith("generated/sql.ts"));
  assert.ok(module);
  const file = join(root, "sql.ts");
  writeFileSync(file, module.text);
  const { STATEMENT_SQL: loaded } = await import(pathToFileURL(file).href);
  assert.equal(loaded.tricky, tricky);
  assert.equal(loaded.enqueue, STATEMENT_SQL.enqueue);
});

test("a fragment that does not exist, a migration without a mark, or a gap stops the generation", () => {
  const root = sourcesCopy();
  assert.deepEqual(
    generatedModules(root).map((m) => m.text),
    generatedModules().map((m) => m.text),
  );

  writeFileSync(join(root, "packages/engine/sql/broken.sql"), "{{include nowhere}}\n");
  assert.throws(
    () => generatedModules(root),
    /sql\/broken\.sql includes "nowhere", but sql\/fragments\/nowhere\.sql does not exist/,
  );
  rmSync(join(root, "packages/engine/sql/broken.sql"));

  const next = String(MIGRATIONS.length + 1).padStart(4, "0");
  writeFileSync(join(root, `packages/engine/migrations/${next}_unmarked.sql`), "create table t ();\n");
  assert.throws(
    () => generatedModules(root),
    new RegExp(`migration ${next}_unmarked\\.sql needs exactly one`),
  );
  rmSync(join(root, `packages/engine/migrations/${next}_unmarked.sql`));

  const gap = String(MIGRATIONS.length + 2).padStart(4, "0");
  writeFileSync(join(root, `packages/engine/migrations/${gap}_gap.sql`), "-- keel:additive\nselect 1;\n");
  assert.throws(() => generatedModules(root), /without gaps; found \d+ at \d+/);
});
