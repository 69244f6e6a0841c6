import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, describe, test } from "node:test";
import pg from "pg";
import { testDatabaseUrl } from "../packages/engine/test/helpers.js";
import { pressureCluster, serverSettings as settings } from "./lib/pressure-cluster.js";

// The pressure scenario's own Postgres (decision 059, amendment): started from the given server's
// major version's binaries, which a machine without Debian's Postgres packages lacks (an embedded
// Postgres only: the test then skips); in CI against an installed server, a skip fails the run.
const given = testDatabaseUrl();

const major = Math.floor(Number((await settings(given, ["server_version_num"])).server_version_num) / 10_000);
const binaries = existsSync(`/usr/lib/postgresql/${major}/bin/initdb`);
if (!binaries && process.env.CI === "true" && process.env.KEEL_TEST_POSTGRES_EMBEDDED !== "1")
  throw new Error(
    `CI=true but /usr/lib/postgresql/${major}/bin/initdb is missing: the pressure cluster test would skip`,
  );

describe("the pressure scenario's Postgres", () => {
  const mode = process.env.BENCH_PRESSURE_CLUSTER;
  after(() => {
    if (mode === undefined) delete process.env.BENCH_PRESSURE_CLUSTER;
    else process.env.BENCH_PRESSURE_CLUSTER = mode;
  });

  test("the given server when it has room for the idle connections", async () => {
    delete process.env.BENCH_PRESSURE_CLUSTER;
    const cluster = await pressureCluster(given, 5, 5, () => {});
    assert.equal(cluster.databaseUrl, given);
    await cluster.stop();
  });

  test("the given server when told so, whatever room it has", async () => {
    process.env.BENCH_PRESSURE_CLUSTER = "given";
    const cluster = await pressureCluster(given, 100_000, 20, () => {});
    assert.equal(cluster.databaseUrl, given);
  });

  test("an unknown BENCH_PRESSURE_CLUSTER is refused with what it may be", async () => {
    process.env.BENCH_PRESSURE_CLUSTER = "shared";
    await assert.rejects(
      pressureCluster(given, 5, 5, () => {}),
      /"shared" is not auto, own or given/,
    );
  });

  test("a cluster of its own: room for the idle connections, the given server's durability, gone when stopped", {
    skip: binaries ? false : `no Postgres ${major} binaries in /usr/lib/postgresql`,
  }, async () => {
    process.env.BENCH_PRESSURE_CLUSTER = "auto";
    const logged: string[] = [];
    const maxGiven = Number((await settings(given, ["max_connections"])).max_connections);
    const cluster = await pressureCluster(given, maxGiven, 20, (m) => logged.push(m));
    try {
      assert.notEqual(cluster.databaseUrl, given);
      assert.match(logged.join("\n"), /starting a Postgres \d+ cluster of its own/);
      const durable = ["fsync", "synchronous_commit", "full_page_writes", "autovacuum", "shared_buffers"];
      const mine = await settings(cluster.databaseUrl, [
        ...durable,
        "max_connections",
        "superuser_reserved_connections",
      ]);
      assert.deepEqual(Object.fromEntries(durable.map((k) => [k, mine[k]])), await settings(given, durable));
      assert.ok(
        Number(mine.max_connections) - Number(mine.superuser_reserved_connections) >= maxGiven + 20,
        `room for the idle connections and the margin: max_connections ${mine.max_connections}`,
      );
    } finally {
      await cluster.stop();
    }
    const late = new pg.Client({ connectionString: cluster.databaseUrl, connectionTimeoutMillis: 2_000 });
    await assert.rejects(late.connect(), /ECONNREFUSED|terminat|timeout/i);
  });
});
