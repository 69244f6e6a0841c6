import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { build } from "esbuild";
import { codeSchemaVersion, createPool, schemaStatus } from "../../engine/src/index.js";
import { freshSchema, onCleanup, testDatabaseUrl } from "../../engine/test/helpers.js";

// Keel bundled into an application: one file, nothing of Keel's packages beside it, so every
// statement, migration and version must be inside the bundle (decision 035). Bundles the built
// packages, as an application's bundler would.

const APP = fileURLToPath(new URL("./fixtures/bundle-app.ts", import.meta.url));
const ENGINE_VERSION: string = JSON.parse(
  readFileSync(new URL("../../engine/package.json", import.meta.url), "utf8"),
).version;

test("a single-file esbuild bundle of the engine and the SDK's Postgres stores migrates and works", async () => {
  const dir = mkdtempSync(join(tmpdir(), "keel-bundle-"));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const outfile = join(dir, "app.mjs");
  await build({
    entryPoints: [APP],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // pg's optional native binding; only loaded when asked for.
    external: ["pg-native"],
    // The usual ESM bundle preamble: the CommonJS packages inside (pg) call require().
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    logLevel: "silent",
  });
  assert.deepEqual(readdirSync(dir), ["app.mjs"]);

  const schema = freshSchema("bundle");
  const { stdout } = await promisify(execFile)(process.execPath, [outfile], {
    cwd: dir,
    env: { PATH: process.env.PATH, BUNDLE_DATABASE_URL: testDatabaseUrl(), BUNDLE_SCHEMA: schema },
  });
  assert.deepEqual(JSON.parse(stdout), {
    version: ENGINE_VERSION,
    job: { queue: "bundled", state: "available" },
    allowed: [true, false],
    warnings: [],
    idempotency: [
      { state: "started" },
      { state: "completed", response: { status: 201, headers: {}, body: "made" } },
    ],
  });

  const pool = createPool({ connectionString: testDatabaseUrl(), max: 1 });
  try {
    const status = await schemaStatus(pool, schema);
    assert.equal(status.dbVersion, codeSchemaVersion());
  } finally {
    await pool.end();
  }
});

/** Every source file of every package, but the generated modules. */
function packageSources(): string[] {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== "generated") walk(path);
      } else if (entry.name.endsWith(".ts")) out.push(path.slice(root.length));
    }
  };
  for (const pkg of readdirSync(root)) walk(join(root, pkg, "src"));
  return out;
}

test("no package source finds files relative to itself: a bundle has no package directory around it", () => {
  const sources = packageSources();
  assert.ok(sources.includes("engine/src/db/sql.ts"), "the walk finds the sources");
  // createRequire(import.meta.url) resolves an optional dependency by name; it reads no file of ours.
  const SELF_RELATIVE =
    /new URL\([^)]*import\.meta\.url|fileURLToPath\(\s*import\.meta\.url|import\.meta\.(dirname|filename)|__dirname|__filename/;
  const found = sources.filter((path) =>
    SELF_RELATIVE.test(readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), "utf8")),
  );
  assert.deepEqual(found, [], "read package files through generated modules instead (decision 035)");
});
