import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { codeSchemaVersion, createPool, migrate } from "@keel/engine";
import { freshSchema, testDatabaseUrl, waitFor } from "../../engine/test/helpers.js";
import { newerMigrations } from "../../engine/test/newer-migrations.js";
import { get, type KeelProcess, logLine, postgresPidsFor, spawnKeel, tempDir } from "./helpers.js";

/** Waits for "keel started", then for /health/ready to pass; returns the port. */
async function waitReady(keel: KeelProcess): Promise<number> {
  const started = await waitFor(
    () => logLine(keel, "keel started") ?? (keel.child.exitCode !== null ? "exited" : undefined),
    // initdb and the first start of an embedded Postgres: seconds idle, far more on a loaded machine.
    60_000,
    "keel started",
  );
  assert.ok(started !== undefined && started !== "exited", `keel exited early:\n${printed(keel)}`);
  const port = started.port as number;
  await waitFor(
    async () => (await get(`http://127.0.0.1:${port}/health/ready`))?.status === 200,
    10_000,
    "ready",
  );
  return port;
}

async function terminate(keel: KeelProcess): Promise<number | null> {
  keel.child.kill("SIGTERM");
  const { code } = await keel.exited;
  return code;
}

function printed(keel: KeelProcess): string {
  return `${keel.lines.map((l) => JSON.stringify(l)).join("\n")}\n${keel.other.join("\n")}`;
}

describe("keel start with the embedded Postgres", () => {
  test("serves health, survives a SIGKILLed run, and stops cleanly on SIGTERM", async () => {
    const dataDir = tempDir("cli");
    const pgDir = join(dataDir, "pg");
    const env = { KEEL_DATA_DIR: dataDir, PORT: "0" };

    const first = spawnKeel(["start"], env);
    const port = await waitReady(first);
    const started = logLine(first, "keel started");
    assert.equal(started?.database, "embedded");
    assert.equal(started?.role, "all");
    assert.doesNotMatch(printed(first), /:[0-9a-f]{48}@/, "the generated password is never printed");
    const live = await get(`http://127.0.0.1:${port}/health/live`);
    assert.equal(live?.body.status, "pass");

    // A crash: Keel dies without stopping its Postgres, which keeps running as an orphan.
    first.child.kill("SIGKILL");
    await first.exited;
    assert.ok(postgresPidsFor(pgDir).length > 0, "the killed Keel left its Postgres running");

    const second = spawnKeel(["start"], env);
    await waitReady(second);
    assert.ok(
      second.lines.some((l) =>
        /left running by a Keel process that did not exit cleanly/.test(String(l.msg)),
      ),
      printed(second),
    );
    assert.equal(await terminate(second), 0, printed(second));
    assert.ok(logLine(second, "keel stopped"), printed(second));
    assert.deepEqual(postgresPidsFor(pgDir), [], "no Postgres process of this data dir remains");
    assert.equal(existsSync(join(pgDir, "postmaster.pid")), false);
    assert.equal(existsSync(join(dataDir, "keel.pid")), false);
  });
});

describe("keel with DATABASE_URL", () => {
  test("start migrates a fresh schema, serves health, exits 0 on SIGTERM", async () => {
    const schema = freshSchema("cli");
    const keel = spawnKeel(["start", "--role", "worker"], {
      DATABASE_URL: testDatabaseUrl(),
      KEEL_SCHEMA: schema,
      PORT: "0",
    });
    const port = await waitReady(keel);
    const started = logLine(keel, "keel started");
    assert.equal(started?.database, "external");
    assert.equal(started?.role, "worker");
    assert.equal(started?.schema, schema);
    const ready = await get(`http://127.0.0.1:${port}/health/ready`);
    assert.equal(ready?.body.status, "pass");
    assert.equal(await terminate(keel), 0, printed(keel));
  });

  test("start on a schema a newer Keel migrated additively applies nothing, is ready, and logs it", async () => {
    const schema = freshSchema("cli_add");
    const pool = createPool({ connectionString: testDatabaseUrl(), max: 1 });
    try {
      await migrate(pool, schema, {
        migrations: newerMigrations({ kind: "additive", sql: "create table future (id int)" }),
        keelVersion: "9.9.0",
      });
    } finally {
      await pool.end();
    }
    const keel = spawnKeel(["start", "--role", "worker"], {
      DATABASE_URL: testDatabaseUrl(),
      KEEL_SCHEMA: schema,
      PORT: "0",
    });
    const port = await waitReady(keel);
    const warned = keel.lines.find(
      (l) => l.level === "warn" && /applied by a newer Keel \(9\.9\.0\)/.test(String(l.msg)),
    );
    assert.ok(warned, printed(keel));
    const health = await get(`http://127.0.0.1:${port}/health`);
    assert.equal(health?.body.status, "warn");
    assert.equal(await terminate(keel), 0, printed(keel));
  });

  test("start refuses a schema a breaking migration made newer than the code, naming the version, and exits 1", async () => {
    const schema = freshSchema("cli_new");
    const pool = createPool({ connectionString: testDatabaseUrl(), max: 1 });
    try {
      await migrate(pool, schema, {
        migrations: newerMigrations({ kind: "breaking", sql: "create table future (id int)" }),
        keelVersion: "9.9.1",
      });
    } finally {
      await pool.end();
    }
    const keel = spawnKeel(["start"], { DATABASE_URL: testDatabaseUrl(), KEEL_SCHEMA: schema, PORT: "0" });
    const { code } = await keel.exited;
    assert.equal(code, 1, printed(keel));
    const fatal = keel.lines.find((l) => l.level === "fatal");
    assert.equal(fatal?.code, "schema_too_new", printed(keel));
    assert.match(String(fatal?.msg), /is breaking for this Keel .*Run Keel 9\.9\.1 or newer/);
  });

  test("migrate applies the migrations and exits 0", async () => {
    const schema = freshSchema("cli_mig");
    const keel = spawnKeel(["migrate"], { DATABASE_URL: testDatabaseUrl(), KEEL_SCHEMA: schema });
    assert.equal((await keel.exited).code, 0, printed(keel));
    const done = logLine(keel, "schema migrated");
    assert.equal(done?.version, codeSchemaVersion(), printed(keel));
  });

  test("bad configuration lists every problem and exits 1", async () => {
    const keel = spawnKeel(["start", "--port", "http"], {
      KEEL_ROLE: "boss",
      DATABASE_URL: "mysql://u:hunter2@db/app",
    });
    assert.equal((await keel.exited).code, 1);
    const fatal = keel.lines.find((l) => l.level === "fatal");
    const problems = (fatal?.problems ?? []) as string[];
    assert.equal(problems.length, 3, printed(keel));
    assert.match(problems.join("\n"), /PORT="http" \(--port\)/);
    assert.match(problems.join("\n"), /KEEL_ROLE="boss" must be one of all, api, worker, scheduler/);
    assert.match(problems.join("\n"), /DATABASE_URL is not a Postgres URL/);
    assert.doesNotMatch(printed(keel), /hunter2/);
  });
});
