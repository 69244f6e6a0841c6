/**
 * Decision 023: packages only some configurations use are loaded when first used, so an idle
 * `keel start` does not carry them. A real `keel start` (role all) with a preload that lists the
 * packages it has loaded: ioredis never without REDIS_URL; undici only once a job is delivered.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { freshSchema, onCleanup, testDatabaseUrl, waitFor } from "../../engine/test/helpers.js";
import { newSecret, startEndpoint } from "./fixtures/delivery-servers.js";
import { guardServerLeaks, logLine, spawnLauncher, tempDir } from "./helpers.js";

guardServerLeaks();
const HERE = fileURLToPath(new URL(".", import.meta.url));
const BIN = join(HERE, "../src/bin/keel.ts");
const PROBE = join(HERE, "fixtures/loaded-packages.mjs");

test("an idle keel start has not loaded ioredis (no REDIS_URL) nor undici; its first delivery loads undici and is made", async () => {
  const out = join(tempDir("loaded"), "packages.txt");
  const adminToken = `admin-${randomBytes(24).toString("hex")}`;
  let delivered = 0;
  const endpoint = await startEndpoint((_req, res) => {
    delivered++;
    res.writeHead(204).end();
  });
  onCleanup(() => endpoint.close());
  const keel = spawnLauncher(process.execPath, ["--import", "tsx", "--import", PROBE, BIN, "start"], {
    DATABASE_URL: testDatabaseUrl(),
    KEEL_SCHEMA: freshSchema("lazy"),
    PORT: "0",
    KEEL_ADMIN_TOKEN: adminToken,
    KEEL_SIGNING_SECRET: newSecret(),
    LOADED_PACKAGES_OUT: out,
  });
  onCleanup(async () => {
    keel.child.kill("SIGTERM");
    await keel.exited;
  });
  await waitFor(() => logLine(keel, "keel started") ?? keel.child.exitCode !== null, 30_000, "keel started");
  const port = logLine(keel, "keel started")?.port;
  assert.ok(port, `keel did not start: ${JSON.stringify(keel.lines)} ${keel.other.join("\n")}`);

  const loaded = async (): Promise<string[]> => {
    rmSync(out, { force: true });
    keel.child.kill("SIGUSR2");
    await waitFor(() => existsSync(out), 10_000, "the loaded packages written");
    return readFileSync(out, "utf8").split("\n");
  };
  const idle = await loaded();
  // The probe reads what it should: the packages every start loads are there.
  for (const name of ["fastify", "pg", "prom-client"]) assert.ok(idle.includes(name), `${name} in ${idle}`);
  assert.ok(!idle.includes("ioredis"), "ioredis is loaded without REDIS_URL");
  assert.ok(!idle.includes("undici"), "undici is loaded before any delivery");

  const created = await fetch(`http://127.0.0.1:${port}/v1/jobs`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ queue: "lazy", target: { url: `${endpoint.origin}/hook` }, payload: { n: 1 } }),
  });
  assert.equal(created.status, 201, await created.text());
  await waitFor(() => delivered === 1, 30_000, "the job delivered");
  const after = await loaded();
  assert.ok(after.includes("undici"), "undici is loaded by the first delivery");
  assert.ok(!after.includes("ioredis"), "ioredis is loaded without REDIS_URL");
});
