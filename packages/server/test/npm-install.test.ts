/**
 * Keel from npm: the protocol, engine and server tarballs (`npm pack`) installed into a fresh
 * directory, then `npx keel --version`, `npx keel start` against the test Postgres until
 * /health/ready passes, SIGTERM, and a clean drain; then `npm install -g` of the same tarballs
 * (into a temporary prefix) and its `keel start` exits 0 on SIGTERM. README, "Run Keel from npm".
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { installTarballs, packWorkspaces } from "../../../scripts/packed.js";
import { freshSchema, testDatabaseUrl, waitFor } from "../../engine/test/helpers.js";
import { type KeelProcess, logLine, spawnLauncher, tempDir } from "./helpers.js";

const run = promisify(execFile);
const work = tempDir("npm-install");
const { tarball } = await packWorkspaces(join(work, "tarballs"), ["protocol", "engine", "server"]);
const app = join(work, "app");
const tarballs = ["protocol", "engine", "server"].map(tarball);
await installTarballs(app, tarballs);
const schema = freshSchema("npminstall");
const env = { DATABASE_URL: testDatabaseUrl(), KEEL_SCHEMA: schema, PORT: "0" };

/** Waits for "keel started", checks /health/ready, sends SIGTERM, waits for "keel stopped". */
async function startReadyStop(proc: KeelProcess): Promise<void> {
  try {
    const started = await waitFor(
      () => logLine(proc, "keel started") ?? (proc.child.exitCode !== null || undefined),
      45_000,
      "keel started",
    );
    assert.notEqual(started, true, `keel did not start: ${proc.other.join("\n")}`);
    const ready = await fetch(`http://127.0.0.1:${(started as { port: number }).port}/health/ready`);
    assert.equal(ready.status, 200, await ready.text());
    proc.child.kill("SIGTERM");
    // Keel holds the pipes: they close when Keel itself has exited, whoever launched it.
    await waitFor(() => proc.child.stdout?.closed, 30_000, "Keel to exit");
    assert.ok(logLine(proc, "shutdown requested"), "Keel heard the SIGTERM");
    assert.ok(logLine(proc, "keel stopped"), `Keel drained and stopped: ${proc.other.join("\n")}`);
    assert.equal(logLine(proc, "second signal: exiting without waiting"), undefined, "no forced exit");
  } finally {
    proc.child.kill("SIGKILL");
  }
}

test("npx keel --version prints @keel/server's version from the installed tarball", async () => {
  const { version } = JSON.parse(readFileSync(join(app, "node_modules/@keel/server/package.json"), "utf8"));
  const { stdout } = await run("npx", ["--no-install", "keel", "--version"], { cwd: app });
  assert.equal(stdout.trim(), version);
});

test("npx keel start serves /health/ready on the test Postgres and drains on SIGTERM", async () => {
  const proc = spawnLauncher("npx", ["--no-install", "keel", "start"], env, app);
  await startReadyStop(proc);
});

test("npm install -g of the tarballs: the global keel start exits 0 on SIGTERM", async () => {
  const prefix = join(work, "global");
  const install = (mode: string) =>
    run("npm", [
      "install",
      "-g",
      "--prefix",
      prefix,
      mode,
      "--no-audit",
      "--no-fund",
      "--ignore-scripts",
      ...tarballs,
    ]);
  await install("--offline").catch(() => install("--prefer-offline"));
  const proc = spawnLauncher(join(prefix, "bin/keel"), ["start"], env, work);
  await startReadyStop(proc);
  assert.deepEqual(await proc.exited, { code: 0, signal: null });
});
