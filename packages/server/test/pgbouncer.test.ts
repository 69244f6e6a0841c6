/**
 * Keel through a real PgBouncer 1.18 in transaction mode (decision 036): what Neon, Supabase and
 * Render give as DATABASE_URL, with the direct URL beside it.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { createWorker, Engine, openResources } from "@keel/engine";
import { freshSchema, testDatabaseUrl, waitFor } from "../../engine/test/helpers.js";
import { type RunningKeel, startKeel } from "../src/runtime/start.js";
import { startEndpoint, type TestEndpoint } from "./fixtures/delivery-servers.js";
import { type PgBouncer, pgbouncerSkip, startPgBouncer } from "./fixtures/pgbouncer.js";
import { get, guardServerLeaks, memoryLogger, tempDir } from "./helpers.js";

guardServerLeaks();

const PREPARED = /prepared statement/i;

let bouncer: PgBouncer | undefined;
after(() => bouncer?.stop());

async function through(pooler: "transaction" | "none", endpoint: TestEndpoint) {
  bouncer ??= await startPgBouncer(3);
  const dir = tempDir("pgbouncer-config");
  const config = join(dir, "keel.config.yaml");
  writeFileSync(
    config,
    `schedules:\n  every-second:\n    cron: "* * * * * *"\n    target: { url: "${endpoint.origin}/tick" }\n`,
  );
  const { logger, lines } = memoryLogger();
  const keel = await startKeel({
    env: {
      DATABASE_URL: bouncer.url,
      KEEL_DIRECT_DATABASE_URL: testDatabaseUrl(),
      KEEL_DATABASE_POOLER: pooler,
      KEEL_SCHEMA: freshSchema("bouncer"),
      KEEL_CONFIG: config,
      PORT: "0",
    },
    host: "127.0.0.1",
    logger,
  });
  return { keel, lines, bouncer };
}

async function deliverMany(keel: RunningKeel, endpoint: TestEndpoint, n: number): Promise<string[]> {
  const jobs = await keel.engine.enqueueMany(
    Array.from({ length: n }, (_, i) => ({
      queue: `q${i % 4}`,
      target: { url: `${endpoint.origin}/job` },
      payload: { i },
    })),
  );
  return jobs.map((j) => j.id);
}

test("through PgBouncer in transaction mode: jobs complete, schedules fire, no prepared-statement errors", {
  skip: pgbouncerSkip,
}, async () => {
  const endpoint = await startEndpoint((_req, res) => res.writeHead(200).end("ok"));
  const { keel, lines, bouncer } = await through("transaction", endpoint);
  try {
    assert.equal(lines.find((l) => l.msg === "keel started")?.pooler, "transaction");
    const ids = await deliverMany(keel, endpoint, 300);
    await waitFor(
      async () => {
        const states = await Promise.all(ids.map((id) => keel.engine.getJob(id).then((j) => j.state)));
        return states.every((s) => s === "succeeded");
      },
      60_000,
      "all 300 jobs delivered",
    );
    await waitFor(
      () => endpoint.received.filter((r) => r.url === "/tick").length >= 2,
      30_000,
      "the schedule to fire twice",
    );
    const ready = await get(`http://127.0.0.1:${keel.port}/health/ready`);
    assert.equal(ready?.status, 200, JSON.stringify(ready?.body));
    const errors = lines.filter((l) => PREPARED.test(JSON.stringify(l)));
    assert.deepEqual(errors, [], "no prepared statement errors in Keel's log");
    assert.deepEqual(
      bouncer.log.filter((l) => PREPARED.test(l)),
      [],
      "none in PgBouncer's log",
    );
  } finally {
    await keel.stop();
    await endpoint.close();
  }
});

test("the same PgBouncer with named statements (KEEL_DATABASE_POOLER=none): the collisions the mode avoids", {
  skip: pgbouncerSkip,
}, async () => {
  const endpoint = await startEndpoint((_req, res) => res.writeHead(200).end("ok"));
  let started: Awaited<ReturnType<typeof through>> | undefined;
  try {
    // The collision may hit Keel's start (it unwinds what it started and throws), the enqueue
    // or any of Keel's loops, whichever runs first.
    const thrown: string[] = [];
    try {
      started = await through("none", endpoint);
    } catch (err) {
      if (!PREPARED.test((err as Error).message)) throw err;
      thrown.push((err as Error).message);
    }
    if (started)
      await deliverMany(started.keel, endpoint, 300).catch((err: Error) => thrown.push(err.message));
    const lines = started?.lines ?? [];
    await waitFor(
      () => thrown.some((m) => PREPARED.test(m)) || lines.some((l) => PREPARED.test(JSON.stringify(l))),
      60_000,
      "a prepared statement error",
    );
  } finally {
    await started?.keel.stop();
    await endpoint.close();
  }
});

test("the engine through PgBouncer: a worker listens on the direct URL, or polls without one", {
  skip: pgbouncerSkip,
}, async () => {
  bouncer ??= await startPgBouncer(3);
  const schema = freshSchema("bouncer_engine");
  for (const direct of [testDatabaseUrl(), undefined]) {
    const engine = await Engine.connect({
      connectionString: bouncer.url,
      directConnectionString: direct,
      pooler: "transaction",
      schema,
      migrate: true,
    });
    assert.equal(engine.namedStatements, false);
    assert.equal(engine.listenConnectionString, direct);
    const done: string[] = [];
    const worker = createWorker({
      engine,
      queues: ["q"],
      handlers: {
        h: async ({ payload }) => {
          done.push(String((payload as { n: number }).n));
        },
      },
    });
    await worker.start();
    try {
      assert.equal(
        openResources().includes("listener"),
        direct !== undefined,
        "LISTEN only on Postgres itself",
      );
      const ids = await engine.enqueueMany(
        Array.from({ length: 50 }, (_, n) => ({ queue: "q", target: { handler: "h" }, payload: { n } })),
      );
      await waitFor(() => done.length >= ids.length, 30_000, "every job run");
    } finally {
      await worker.stop();
      await engine.close();
    }
  }
});
