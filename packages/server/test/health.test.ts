import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { after, describe, test } from "node:test";
import { codeSchemaVersion, createPool, Engine, migrate, type Pool } from "@keel/engine";
import type { FastifyInstance } from "fastify";
import { freshSchema, testDatabaseUrl } from "../../engine/test/helpers.js";
import { newerMigrations } from "../../engine/test/newer-migrations.js";
import { buildApp } from "../src/http/app.js";
import type { HealthReport } from "../src/http/health.js";
import { closedPort, guardServerLeaks } from "./helpers.js";

const engine = await Engine.connect({
  migrate: true,
  connectionString: testDatabaseUrl(),
  schema: freshSchema("health"),
});
after(() => engine.close());
// After the close above: file-level hooks run in the order they were registered.
guardServerLeaks();

/** Builds the app on `pool` and `schema`, GETs `url` through inject() (no socket), closes the app. */
async function probe(
  url: string,
  options: { pool?: Pool; schema?: string; draining?: boolean; production?: boolean } = {},
) {
  const app: FastifyInstance = buildApp({
    pool: options.pool ?? engine.pool,
    schema: options.schema ?? engine.schema,
    role: "all",
    draining: () => options.draining ?? false,
    production: options.production ?? false,
  });
  try {
    const res = await app.inject({ method: "GET", url });
    assert.match(String(res.headers["content-type"]), /^application\/health\+json/);
    assert.equal(res.headers["cache-control"], "no-store");
    return { status: res.statusCode, body: res.json() as HealthReport };
  } finally {
    await app.close();
  }
}

describe("with Postgres up and the schema current", () => {
  test("/health/live passes and reports event-loop delay", async () => {
    const { status, body } = await probe("/health/live");
    assert.equal(status, 200);
    assert.equal(body.status, "pass");
    const [delay] = body.checks["eventLoop:delay"] ?? [];
    assert.equal(delay?.observedUnit, "ms");
    assert.equal(typeof delay?.observedValue, "number");
    assert.deepEqual(Object.keys(body.checks), ["eventLoop:delay"], "liveness looks at nothing else");
  });

  test("/health/ready passes with the Postgres response time and schema version", async () => {
    const { status, body } = await probe("/health/ready");
    assert.equal(status, 200);
    assert.equal(body.status, "pass");
    const [pg] = body.checks["postgres:responseTime"] ?? [];
    assert.equal(pg?.status, "pass");
    assert.equal(pg?.observedUnit, "ms");
    assert.ok(typeof pg?.observedValue === "number" && pg.observedValue < 1000);
    assert.deepEqual(body.checks["postgres:schema"]?.[0]?.observedValue, codeSchemaVersion());
  });

  test("/health gives every check plus uptime, connections and version", async () => {
    const { status, body } = await probe("/health");
    assert.equal(status, 200);
    assert.equal(body.status, "pass");
    for (const key of [
      "eventLoop:delay",
      "postgres:responseTime",
      "postgres:schema",
      "uptime",
      "postgres:connections",
    ]) {
      assert.ok(body.checks[key], `missing check ${key}`);
    }
    assert.equal(
      body.version,
      JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version,
    );
  });

  test("/health/ready fails with 503 while draining, without touching Postgres", async () => {
    const { status, body } = await probe("/health/ready", { draining: true });
    assert.equal(status, 503);
    assert.equal(body.status, "fail");
    assert.equal(body.checks["keel:shutdown"]?.[0]?.status, "fail");
    assert.equal(body.checks["postgres:responseTime"], undefined);
    assert.equal((await probe("/health/live", { draining: true })).status, 200, "still alive while draining");
  });
});

describe("schema not at this code's version", () => {
  test("a schema behind (never migrated) fails readiness and says to run keel migrate", async () => {
    const { status, body } = await probe("/health/ready", { schema: freshSchema("behind") });
    assert.equal(status, 503);
    assert.equal(body.status, "fail");
    assert.equal(body.checks["postgres:responseTime"]?.[0]?.status, "pass");
    const [schema] = body.checks["postgres:schema"] ?? [];
    assert.equal(schema?.status, "fail");
    assert.equal(schema?.observedValue, 0);
    assert.match(String(schema?.output), /keel migrate/);
  });

  test("a schema ahead by an additive migration stays ready, and /health warns that a newer Keel migrated it", async () => {
    const schema = freshSchema("ahead_additive");
    await migrate(engine.pool, schema, {
      migrations: newerMigrations({ kind: "additive", sql: "create table newer_probe (id int)" }),
      keelVersion: "9.9.0",
    });
    const ready = await probe("/health/ready", { schema });
    assert.equal(ready.status, 200);
    assert.equal(ready.body.status, "pass");
    assert.equal(ready.body.checks["postgres:schema"]?.[0]?.status, "pass");
    const { status, body } = await probe("/health", { schema });
    assert.equal(status, 200);
    assert.equal(body.status, "warn");
    const [check] = body.checks["postgres:schema"] ?? [];
    assert.equal(check?.status, "warn");
    assert.equal(check?.observedValue, codeSchemaVersion() + 1);
    assert.match(
      String(check?.output),
      new RegExp(
        `^Migration ${codeSchemaVersion() + 1} was applied by a newer Keel \\(9\\.9\\.0\\); it is additive`,
      ),
    );
  });

  test("a schema ahead by a breaking migration fails readiness, naming the Keel version to run", async () => {
    const schema = freshSchema("ahead_breaking");
    await migrate(engine.pool, schema, {
      migrations: newerMigrations({ kind: "breaking", sql: "create table newer_probe (id int)" }),
      keelVersion: "9.9.1",
    });
    const { status, body } = await probe("/health/ready", { schema });
    assert.equal(status, 503);
    const [check] = body.checks["postgres:schema"] ?? [];
    assert.equal(check?.status, "fail");
    assert.equal(check?.observedValue, codeSchemaVersion() + 1);
    assert.match(String(check?.output), /is breaking for this Keel .*Run Keel 9\.9\.1 or newer/);
  });
});

describe("Postgres unreachable", () => {
  test("a closed port fails readiness at once; liveness still passes", async () => {
    const pool = createPool({
      connectionString: `postgres://postgres@127.0.0.1:${await closedPort()}/keel`,
      max: 1,
    });
    try {
      const ready = await probe("/health/ready", { pool });
      assert.equal(ready.status, 503);
      assert.equal(ready.body.status, "fail");
      const [pg] = ready.body.checks["postgres:responseTime"] ?? [];
      assert.equal(pg?.status, "fail");
      assert.match(String(pg?.output), /ECONNREFUSED/);
      assert.equal(ready.body.checks["postgres:schema"]?.[0]?.status, "fail");
      assert.equal((await probe("/health", { pool })).status, 503);
      const live = await probe("/health/live", { pool });
      assert.equal(live.status, 200, "liveness never depends on the database");
      const prod = await probe("/health/ready", { pool, production: true });
      const output = String(prod.body.checks["postgres:responseTime"]?.[0]?.output);
      assert.doesNotMatch(
        output,
        /ECONNREFUSED|127\.0\.0\.1/,
        "production hides addresses from the public output",
      );
      assert.match(output, /details in Keel's log/);
    } finally {
      await pool.end();
    }
  });

  test("a server that accepts but never answers fails readiness after 1 s", async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as { port: number };
    const pool = createPool({ connectionString: `postgres://postgres@127.0.0.1:${port}/keel`, max: 1 });
    try {
      const started = Date.now();
      const { status, body } = await probe("/health/ready", { pool });
      const took = Date.now() - started;
      assert.equal(status, 503);
      assert.match(String(body.checks["postgres:responseTime"]?.[0]?.output), /no answer within 1000 ms/);
      assert.ok(took >= 950 && took < 3000, `answered after ${took} ms`);
    } finally {
      // Dropping the connection fails the pending connect, so the pool can end.
      for (const socket of sockets) socket.destroy();
      await pool.end();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
