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

// Propagation tests run workers with a 10 s poll: work that starts sooner can only have been
// woken by the change's notification, which is the path the one-second promise rests on.
const SLOW_POLL_MS = 10_000;
// Far below the poll, and far above a notification's few milliseconds on a loaded machine.
const NOTIFIED_BOUND_MS = 5_000;

/** When each process first started a job, by its own clock (Infinity: not yet). */
function firstStarts(procs: ReturnType<typeof workerProcess>[]): number[] {
  return procs.map((p) =>
    Math.min(...[...p.stdout.matchAll(/^started \d+ (\d+)$/gm)].map((m) => Number(m[1]))),
  );
}

test("pause holds in every process, and resume reaches every process by notification, not the poll", async () => {
  const procs = [
    workerProcess("pr", { CONCURRENCY: 2, POLL_MS: SLOW_POLL_MS }),
    workerProcess("pr", { CONCURRENCY: 2, POLL_MS: SLOW_POLL_MS }),
  ];
  await Promise.all(procs.map((p) => ready(p)));
  await engine.upsertQueue("pr");
  await engine.pauseQueue("pr");
  await engine.enqueueMany(
    Array.from({ length: 12 }, () => ({
      queue: "pr",
      target: { handler: "work" },
      payload: { sleepMs: 150 },
    })),
  );
  // The enqueue's notification wakes both processes at once; a start would follow within
  // milliseconds if the pause did not hold. Half a second is the window watched.
  await new Promise((r) => setTimeout(r, 500));
  const resumedAt = Date.now();
  await engine.resumeQueue("pr");
  await waitFor(() => firstStarts(procs).every(Number.isFinite), 20_000, "both processes started work");
  for (const [i, first] of firstStarts(procs).entries()) {
    assert.ok(first >= resumedAt, `process ${i} started a job ${resumedAt - first} ms before the resume`);
    assert.ok(
      first - resumedAt < NOTIFIED_BOUND_MS,
      `process ${i} resumed after ${first - resumedAt} ms: not by notification (poll ${SLOW_POLL_MS} ms)`,
    );
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
  const rows = await engine.pool.query(`select count(*)::int n from "${schema}".migration_log`);
  assert.equal(rows.rows[0].n, codeSchemaVersion());
});

test("a process switch holds in three processes, and turning it on reaches them by notification", async () => {
  const procs = [
    workerProcess("sw3", { CONCURRENCY: 2, POLL_MS: SLOW_POLL_MS }),
    workerProcess("sw3", { CONCURRENCY: 2, POLL_MS: SLOW_POLL_MS }),
    workerProcess("sw3", { CONCURRENCY: 2, POLL_MS: SLOW_POLL_MS }),
  ];
  await Promise.all(procs.map((p) => ready(p)));
  await engine.switches.set("process:sw3", false, { actor: "test", reason: "propagation test" });
  await engine.enqueueMany(
    Array.from({ length: 30 }, () => ({
      queue: "sw3",
      target: { handler: "work" },
      // Long enough that two processes cannot drain the queue before the third claims: each
      // runs two at a time, so 30 jobs keep two processes busy for over two seconds.
      payload: { sleepMs: 300 },
    })),
  );
  // As above: the enqueue woke every process; a start would follow within milliseconds.
  await new Promise((r) => setTimeout(r, 500));
  const onAt = Date.now();
  await engine.switches.set("process:sw3", true, { actor: "test" });
  await waitFor(() => firstStarts(procs).every(Number.isFinite), 20_000, "all three processes started work");
  for (const [i, first] of firstStarts(procs).entries()) {
    assert.ok(first >= onAt, `process ${i} started a job ${onAt - first} ms while the switch was off`);
    assert.ok(
      first - onAt < NOTIFIED_BOUND_MS,
      `process ${i} saw the switch after ${first - onAt} ms: not by notification (poll ${SLOW_POLL_MS} ms)`,
    );
  }
  for (const p of procs) p.child.kill("SIGTERM");
  await Promise.all(procs.map((p) => p.exited));
});
