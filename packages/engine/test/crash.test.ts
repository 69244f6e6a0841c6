import assert from "node:assert/strict";
import { test } from "node:test";
import { codeSchemaVersion, type Engine } from "../src/index.js";
import { freshSchema, guardLeaks, testEngine, waitFor } from "./helpers.js";
import { createLedger, ready, runFixture } from "./processes.js";

guardLeaks();
const engine: Engine = await testEngine();
const S = `"${engine.schema}"`;
await createLedger(engine);

async function ledgerRows(
  queue: string,
  event: string,
): Promise<{ job_id: string; attempt: number; pid: number; at: Date }[]> {
  const res = await engine.pool.query(
    `select l.* from ${S}.ledger l
     where l.event = $2 and l.job_id in (select id from ${S}.jobs where queue = $1 union all select id from ${S}.job_history where queue = $1)
     order by l.at`,
    [queue, event],
  );
  return res.rows;
}

function workerProcess(queue: string, extra: Record<string, string | number> = {}) {
  return runFixture("worker-process", { SCHEMA: engine.schema, QUEUES: queue, LEASE_MS: 5_000, ...extra });
}

test("a worker killed with SIGKILL mid-job: the job runs again within lease + 5 s, nothing lost", async () => {
  const a = workerProcess("k1");
  await ready(a);
  const { id } = await engine.enqueue({
    queue: "k1",
    target: { handler: "work" },
    payload: { firstSleepMs: 60_000, sleepMs: 10 },
  });
  await waitFor(async () => (await ledgerRows("k1", "start")).length === 1, 10_000, "first attempt started");
  a.child.kill("SIGKILL");
  await a.exited;
  const killedAt = Date.now();
  const b = workerProcess("k1");
  await ready(b);
  const job = await waitFor(
    async () => {
      const j = await engine.getJob(id);
      return j.state === "succeeded" ? j : undefined;
    },
    20_000,
    "job re-run and finished",
  );
  const starts = await ledgerRows("k1", "start");
  assert.equal(starts.length, 2);
  const recoveredAfter = (starts[1]?.at.getTime() as number) - killedAt;
  assert.ok(recoveredAfter <= 10_000, `re-run ${recoveredAfter} ms after the kill (lease 5 s + 5 s)`);
  assert.deepEqual(
    job.attempts.map((x) => x.outcome),
    ["lease_expired", "succeeded"],
  );
  b.child.kill("SIGTERM");
  assert.equal((await b.exited).code, 0);
});

test("three processes claiming at once run each job exactly once while leases hold", async () => {
  const procs = [
    workerProcess("m1", { CONCURRENCY: 8 }),
    workerProcess("m1", { CONCURRENCY: 8 }),
    workerProcess("m1", { CONCURRENCY: 8 }),
  ];
  await Promise.all(procs.map((p) => ready(p)));
  const jobs = await engine.enqueueMany(
    Array.from({ length: 600 }, () => ({
      queue: "m1",
      target: { handler: "work" },
      payload: { sleepMs: 2 },
    })),
  );
  await waitFor(
    async () => (await engine.listQueues()).find((q) => q.name === "m1")?.counts.succeeded === jobs.length,
    60_000,
  );
  const starts = await ledgerRows("m1", "start");
  assert.equal(starts.length, 600, "no job started twice");
  assert.equal(new Set(starts.map((r) => r.job_id)).size, 600);
  const pids = new Set(starts.map((r) => r.pid));
  assert.equal(pids.size, 3, "every process took part");
  for (const p of procs) p.child.kill("SIGTERM");
  for (const p of procs) assert.equal((await p.exited).code, 0);
});

test("pause and resume reach every process within one second", async () => {
  const procs = [workerProcess("pr", { CONCURRENCY: 2 }), workerProcess("pr", { CONCURRENCY: 2 })];
  await Promise.all(procs.map((p) => ready(p)));
  await engine.upsertQueue("pr");
  await engine.pauseQueue("pr");
  const pausedAt = Date.now();
  await engine.enqueueMany(
    Array.from({ length: 12 }, () => ({
      queue: "pr",
      target: { handler: "work" },
      payload: { sleepMs: 150 },
    })),
  );
  // Both processes poll every second: 1.5 s without a start shows the pause holds everywhere.
  await new Promise((r) => setTimeout(r, 1_500));
  assert.equal((await ledgerRows("pr", "start")).filter((r) => r.at.getTime() >= pausedAt).length, 0);
  await engine.resumeQueue("pr");
  const resumedAt = Date.now();
  const starts = await waitFor(
    async () => {
      const rows = await ledgerRows("pr", "start");
      return new Set(rows.map((r) => r.pid)).size === 2 ? rows : undefined;
    },
    5_000,
    "both processes started work",
  );
  for (const pid of new Set(starts.map((r) => r.pid))) {
    const first = starts.find((r) => r.pid === pid)?.at.getTime() as number;
    assert.ok(first - resumedAt < 1_000, `process ${pid} resumed after ${first - resumedAt} ms`);
  }
  for (const p of procs) p.child.kill("SIGTERM");
  await Promise.all(procs.map((p) => p.exited));
});

test("SIGTERM lets the running job finish, then the process exits 0", async () => {
  const p = workerProcess("g1", { SHUTDOWN_MS: 10_000 });
  await ready(p);
  const { id } = await engine.enqueue({
    queue: "g1",
    target: { handler: "work" },
    payload: { sleepMs: 800 },
  });
  await waitFor(async () => (await ledgerRows("g1", "start")).length === 1);
  p.child.kill("SIGTERM");
  assert.equal((await p.exited).code, 0);
  assert.equal((await engine.getJob(id)).state, "succeeded");
});

test("SIGTERM past the deadline releases the job at once instead of leaving it to the lease", async () => {
  const p = workerProcess("g2", { SHUTDOWN_MS: 300, LEASE_MS: 60_000 });
  await ready(p);
  const { id } = await engine.enqueue({
    queue: "g2",
    target: { handler: "work" },
    payload: { sleepMs: 30_000 },
  });
  await waitFor(async () => (await ledgerRows("g2", "start")).length === 1);
  p.child.kill("SIGTERM");
  assert.equal((await p.exited).code, 0);
  const job = await engine.getJob(id);
  assert.equal(job.state, "available");
  assert.equal(job.attempt, 0);
});

test("ten processes migrating one schema at once apply each migration exactly once", async () => {
  const schema = freshSchema("mig");
  const procs = Array.from({ length: 10 }, () => runFixture("migrate-process", { SCHEMA: schema }));
  const results = await Promise.all(
    procs.map(async (p) => {
      const { code } = await p.exited;
      assert.equal(code, 0, p.stderr);
      return JSON.parse(p.stdout) as { applied: number[]; version: number };
    }),
  );
  const applied = results.flatMap((r) => r.applied).sort((a, b) => a - b);
  assert.deepEqual(
    applied,
    Array.from({ length: codeSchemaVersion() }, (_, i) => i + 1),
  );
  for (const r of results) assert.equal(r.version, codeSchemaVersion());
  const rows = await engine.pool.query(`select count(*)::int n from "${schema}".migrations`);
  assert.equal(rows.rows[0].n, codeSchemaVersion());
});

test("a process switch reaches three processes within one second, both ways", async () => {
  const procs = [
    workerProcess("sw3", { CONCURRENCY: 2 }),
    workerProcess("sw3", { CONCURRENCY: 2 }),
    workerProcess("sw3", { CONCURRENCY: 2 }),
  ];
  await Promise.all(procs.map((p) => ready(p)));
  await engine.switches.set("process:sw3", false, { actor: "test", reason: "propagation test" });
  const offAt = Date.now();
  await engine.enqueueMany(
    Array.from({ length: 30 }, () => ({
      queue: "sw3",
      target: { handler: "work" },
      // Long enough that two processes cannot drain the queue before the third polls: each
      // process runs two at a time, so 30 jobs keep two processes busy for over two seconds.
      payload: { sleepMs: 300 },
    })),
  );
  // Every process polls at least once a second: 1.5 s without a start shows the switch holds in all.
  await new Promise((r) => setTimeout(r, 1_500));
  assert.equal((await ledgerRows("sw3", "start")).filter((r) => r.at.getTime() >= offAt).length, 0);
  await engine.switches.set("process:sw3", true, { actor: "test" });
  const onAt = Date.now();
  const starts = await waitFor(
    async () => {
      const rows = await ledgerRows("sw3", "start");
      return new Set(rows.map((r) => r.pid)).size === 3 ? rows : undefined;
    },
    5_000,
    "all three processes started work",
  );
  for (const pid of new Set(starts.map((r) => r.pid))) {
    const first = starts.find((r) => r.pid === pid)?.at.getTime() as number;
    assert.ok(first - onAt < 1_000, `process ${pid} saw the switch after ${first - onAt} ms`);
  }
  for (const p of procs) p.child.kill("SIGTERM");
  await Promise.all(procs.map((p) => p.exited));
});
