import assert from "node:assert/strict";
import { test } from "node:test";
import { guardLeaks, testEngine, waitFor } from "./helpers.js";
import { type Proc, ready, runFixture } from "./processes.js";

guardLeaks();

test("five scheduler processes over 1,000 slots, one killed every few dozen slots: exactly one job per slot and tenant", async () => {
  const engine = await testEngine();
  const slots = 1_000;
  const speed = 60; // one virtual minute a real second: 1,000 slots in about 17 s
  const base = Date.parse("2026-06-01T00:00:00Z");
  await engine.schedules.upsert("every-second", {
    cron: "* * * * * *",
    missed: "all",
    fanOut: { tenants: ["acme", "globex"] },
    target: { url: "https://crm.example.com/cron/{{tenant}}" },
  });
  await engine.pool.query(`update "${engine.schema}".schedules set next_fire_at = $1`, [new Date(base)]);

  const start = Date.now();
  const env = {
    SCHEMA: engine.schema,
    CLOCK_BASE: new Date(base).toISOString(),
    CLOCK_START: start,
    CLOCK_SPEED: speed,
  };
  const procs: Proc[] = Array.from({ length: 5 }, () => runFixture("scheduler-process", env));
  await Promise.all(procs.map((p) => ready(p)));

  // Kill one process every ~30 slots (half a real second) and start a new one in its place, at
  // least 20 times however slow a loaded machine makes each kill and restart (slots past the last
  // one are not counted).
  const virtualNow = () => (Date.now() - start) * speed;
  let kills = 0;
  while (virtualNow() < slots * 1000 || kills < 20) {
    await new Promise((r) => setTimeout(r, 400 + Math.random() * 200));
    const victim = Math.floor(Math.random() * procs.length);
    (procs[victim] as Proc).child.kill("SIGKILL");
    await (procs[victim] as Proc).exited;
    kills++;
    procs[victim] = runFixture("scheduler-process", env);
  }
  // Every slot up to the last one is decided once the cursor has passed it.
  const last = new Date(base + slots * 1000);
  await waitFor(
    async () => {
      const { rows } = await engine.pool.query(`select next_fire_at from "${engine.schema}".schedules`);
      return (rows[0] as { next_fire_at: Date }).next_fire_at > last;
    },
    30_000,
    "the cursor to pass the last slot",
  );
  for (const p of procs) p.child.kill("SIGKILL");
  await Promise.all(procs.map((p) => p.exited));

  const { rows } = await engine.pool.query<{ fire_time: Date; tenant: string; n: string }>(
    `select (origin->>'fireTime')::timestamptz as fire_time, tenant, count(*) as n
     from "${engine.schema}".jobs where origin->>'schedule' = 'every-second' and (origin->>'fireTime')::timestamptz <= $1
     group by 1, 2`,
    [last],
  );
  const duplicates = rows.filter((r) => Number(r.n) > 1);
  assert.deepEqual(duplicates, [], "no slot made two jobs for one tenant");
  const made = new Set(rows.map((r) => `${r.fire_time.getTime()} ${r.tenant}`));
  const missing: string[] = [];
  for (let s = 0; s <= slots; s++) {
    for (const tenant of ["acme", "globex"]) {
      if (!made.has(`${base + s * 1000} ${tenant}`))
        missing.push(`${new Date(base + s * 1000).toISOString()} ${tenant}`);
    }
  }
  assert.deepEqual(missing, [], "no slot is missing");
  const runs = await engine.pool.query<{ outcome: string; n: string }>(
    `select outcome, count(*) as n from "${engine.schema}".schedule_runs where fire_time <= $1 group by 1`,
    [last],
  );
  assert.deepEqual(
    runs.rows.map((r) => [r.outcome, Number(r.n)]),
    [["enqueued", (slots + 1) * 2]],
  );
});
