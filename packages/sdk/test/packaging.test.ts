/**
 * The packages as npm would publish them: `npm pack` of protocol, engine, sdk and server; publint
 * on each tarball; no source map pointing at a file the tarball lacks. Then the protocol, engine
 * and sdk tarballs installed into a fresh application directory (from the npm cache; the registry
 * only for metadata the cache lacks) and run there: a Node ESM app that verifies a real delivery
 * from a running Keel, checks a rate limit and replays an idempotent route; a CommonJS app
 * (require(esm)); and the esbuild `--platform=neutral` bundle of `@keel/sdk/verify`, which must
 * stay under 10 KB minified with no `node:` import and verifies the same delivery.
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, posix } from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { publint } from "publint";
import { formatMessage } from "publint/utils";
import { installTarballs, packWorkspaces } from "../../../scripts/packed.js";
import { bundleSubpath, nodeImportsOf, sizesTable, subpathSizes } from "../../../scripts/sdk-sizes.js";
import { freshSchema, testDatabaseUrl } from "../../engine/test/helpers.js";
import { tempDir } from "../../server/test/helpers.js";
import { KeelClient } from "../src/index.js";
import { startTestKeel } from "./fixtures/client-servers.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const FIXTURES = fileURLToPath(new URL("./fixtures/packaging/", import.meta.url));
const PACKAGES = ["protocol", "engine", "sdk", "server"] as const;
const VERIFY_BUDGET = 10 * 1024;

// Removed after the file (tempDir): tarballs, the app, its node_modules.
const work = tempDir("packaging");
const { packed, tarball } = await packWorkspaces(join(work, "tarballs"), PACKAGES);

// The application: the tarballs an app needs (server is the keel binary, not a library).
const app = join(work, "app");
const installApp = (dir: string, packages: string[]) => installTarballs(dir, packages.map(tarball));
await installApp(app, ["protocol", "engine", "sdk"]);
// An app without the optional peers: no @keel/engine, no ioredis.
const lean = join(work, "lean");
await installApp(lean, ["protocol", "sdk"]);
for (const file of ["app.mjs", "app.cjs"]) copyFileSync(join(FIXTURES, file), join(app, file));
// What the ESM app imports as ./verify.bundle.mjs.
const bundle = await bundleSubpath(app, "./verify", "neutral");
writeFileSync(join(app, "verify.bundle.mjs"), bundle);

test("publint accepts every package's tarball (warnings count as errors)", async () => {
  for (const name of PACKAGES) {
    const bytes = readFileSync(tarball(name));
    const result = await publint({
      pkgDir: "package",
      pack: {
        tarball: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
      },
      strict: true,
    });
    const problems = result.messages
      .filter((m) => m.type !== "suggestion")
      .map((m) => `${m.type}: ${formatMessage(m, result.pkg)}`);
    assert.deepEqual(problems, [], `@keel/${name}`);
    assert.equal(result.pkg.license, "MIT", `@keel/${name} license`);
    assert.equal((result.pkg.repository as { directory?: string })?.directory, `packages/${name}`);
    assert.ok(
      packed.get(name)?.files.some((f) => f.path === "LICENSE"),
      `@keel/${name} ships LICENSE`,
    );
  }
});

test("every source map in a tarball points at files in that tarball", () => {
  for (const name of PACKAGES) {
    const files = new Set(packed.get(name)?.files.map((f) => f.path));
    const maps = [...files].filter((f) => f.endsWith(".map"));
    assert.ok(maps.length > 0, `@keel/${name} has source maps`);
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(join(ROOT, "packages", name, map), "utf8")) as {
        sources: string[];
      };
      for (const source of sources) {
        const path = posix.normalize(posix.join(posix.dirname(map), source));
        assert.ok(files.has(path), `@keel/${name}/${map} points at ${path}, which is not published`);
      }
    }
  }
});

test(`the esbuild --platform=neutral bundle of @keel/sdk/verify: no node: import, under ${VERIFY_BUDGET} bytes`, () => {
  assert.deepEqual(nodeImportsOf(bundle), []);
  assert.ok(
    bundle.length < VERIFY_BUDGET,
    `@keel/sdk/verify bundles to ${bundle.length} bytes (budget ${VERIFY_BUDGET})`,
  );
});

test("the bundle size of every subpath, measured on the installed tarball", async () => {
  const sizes = await subpathSizes(app);
  console.log(sizesTable(sizes));
  for (const size of sizes) {
    assert.ok(size.minified > 0, size.subpath);
    if (size.platform === "neutral") assert.deepEqual(size.nodeImports, [], size.subpath);
  }
});

test("without the optional peers installed, the runtime-neutral subpaths load", async () => {
  assert.ok(!existsSync(join(lean, "node_modules/@keel/engine")), "@keel/engine was installed");
  assert.ok(!existsSync(join(lean, "node_modules/ioredis")), "ioredis was installed");
  const script = `
    const subpaths = ["client", "verify", "next", "hono", "idempotency", "ratelimit", "express", "fastify"];
    const loaded = {};
    for (const s of subpaths) loaded[s] = Object.keys(await import("@keel/sdk/" + s)).length > 0;
    let worker;
    try { await import("@keel/sdk/worker"); worker = "loaded"; } catch (err) { worker = err.code; }
    console.log(JSON.stringify({ loaded, worker }));`;
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], { cwd: lean });
  const all = {
    client: true,
    verify: true,
    next: true,
    hono: true,
    idempotency: true,
    ratelimit: true,
    express: true,
    fastify: true,
  };
  assert.deepEqual(JSON.parse(stdout), { loaded: all, worker: "ERR_MODULE_NOT_FOUND" });
});

/** Runs `file` in the app directory with node; resolves its stdout lines as they come. */
function start(file: string, args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [file, ...args], {
    cwd: app,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const next = async (): Promise<unknown> => {
    const line = await lines.next();
    if (line.done) assert.fail(`${file} ended without output (exit ${await exited}): ${stderr}`);
    return JSON.parse(line.value);
  };
  return { next, exited, stderr: () => stderr, kill: () => child.kill() };
}

test("a Node ESM app and a CommonJS app, on the installed tarballs, verify a real delivery from a running Keel", async (t) => {
  const secret = `whsec_${randomBytes(32).toString("base64")}`;
  const keel = await startTestKeel({ role: "all", env: { KEEL_SIGNING_SECRET: secret } });
  const client = new KeelClient({ baseUrl: keel.url, token: keel.admin });
  const deliveryFile = join(work, "delivery.json");
  const esm = start("app.mjs", [], {
    KEEL_SIGNING_SECRET: secret,
    APP_DATABASE_URL: testDatabaseUrl(),
    APP_SCHEMA: freshSchema("pkgapp"),
    APP_DELIVERY_FILE: deliveryFile,
  });
  t.after(() => esm.kill());
  const { port } = (await esm.next()) as { port: number };
  const job = await client.jobs.create({
    queue: "packaging",
    target: { url: `http://127.0.0.1:${port}/hook`, method: "POST" },
    payload: { order: 7, name: "Zoë" },
  });
  const seen = await esm.next();
  assert.equal(await esm.exited, 0, esm.stderr());
  const delivery = { jobId: job.id, attempt: 1, queue: "packaging", payload: { order: 7, name: "Zoë" } };
  assert.deepEqual(seen, {
    allowed: [true, false],
    idempotency: [
      { status: 201, replayed: null, body: { order: 1, item: "tea" } },
      { status: 201, replayed: "true", body: { order: 1, item: "tea" } },
      { runs: 1 },
    ],
    installed: delivery,
    bundle: delivery,
    forged: "delivery_verification_failed",
  });

  const cjs = start("app.cjs", [deliveryFile], { KEEL_SIGNING_SECRET: secret });
  assert.deepEqual(await cjs.next(), { jobId: job.id, payload: delivery.payload, allowed: [true, false] });
  assert.equal(await cjs.exited, 0, cjs.stderr());
});
