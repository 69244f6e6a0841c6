import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import pg from "pg";
import {
  createScheduler,
  type Engine,
  type FireEvent,
  isKeelError,
  type ScheduleDefinition,
} from "../src/index.js";
import { guardLeaks, onCleanup, testDatabaseUrl, testEngine } from "./helpers.js";

// Stops each test's schedulers before the leak check (hooks run in registration order).
const running: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
});
guardLeaks();

const at = (s: string) => new Date(s);

/** A scheduler on an injected clock: `tick(time)` decides everything due at `time`. */
function clocked(engine: Engine, graceMs = 60_000) {
  let now = at("2026-06-01T00:00:00Z");
  const events: FireEvent[] = [];
  const scheduler = createScheduler({
    engine,
    autoStart: false,
    now: () => now,
    tickMs: 3_600_000,
    graceMs,
    hooks: { onFire: (e) => events.push(e) },
  });
  running.push(scheduler);
  return {
    events,
    async tick(time: string) {
      now = at(time);
      return scheduler.tick();
    },
    stop: () => scheduler.stop(),
  };
}

/** Jobs of a schedule (unfinished and finished), by fire time then tenant. */
async function jobsOf(engine: Engine, schedule: string) {
  const { rows } = await engine.pool.query<{
    fire_time: string;
    tenant: string | null;
    trigger: string;
    target: { url?: string; headers?: Record<string, string> };
  }>(
    `select origin->>'fireTime' as fire_time, tenant, origin->>'trigger' as trigger, target
     from "${engine.schema}".jobs where origin->>'schedule' = $1
     union all
     select origin->>'fireTime', tenant, origin->>'trigger', target
     from "${engine.schema}".job_history where origin->>'schedule' = $1
     order by 1, 2`,
    [schedule],
  );
  return rows;
}

/** Moves a schedule's cursor, as if it had been created at `from`. */
async function setCursor(engine: Engine, name: string, to: string) {
  await engine.pool.query(`update "${engine.schema}".schedules set next_fire_at = $2 where name = $1`, [
    name,
    to,
  ]);
}

const hourly: ScheduleDefinition = {
  cron: "0 * * * *",
  target: { url: "https://app.example.com/cron/hourly" },
};

describe("schedule definitions", () => {
  test("bad input answers a code naming the field, and nothing is saved", async () => {
    const engine = await testEngine();
    const cases: [unknown, string, RegExp][] = [
      [{ ...hourly, cron: "61 * * * *" }, "invalid_cron", /cron: '61 \* \* \* \*'/],
      [{ ...hourly, timezone: "Europe/Lundun" }, "invalid_timezone", /timezone: 'Europe\/Lundun'/],
      [{ ...hourly, target: { url: "ftp://x" } }, "invalid_target", /target\.url/],
      [{ ...hourly, target: {} }, "invalid_target", /handler or a url/],
      [{ ...hourly, missed: "sometimes" }, "invalid_schedule", /missed/],
      [{ ...hourly, overlap: "never" }, "invalid_schedule", /overlap/],
      [{ ...hourly, jitterSeconds: -1 }, "invalid_schedule", /jitterSeconds/],
      [{ ...hourly, fanOut: { tenants: ["a b"] } }, "invalid_schedule", /fanOut\.tenants\.0/],
      [
        { ...hourly, target: { url: "https://x.example/{{tenant}}" } },
        "invalid_schedule",
        /\{\{tenant\}\} but the schedule has no fanOut/,
      ],
      [
        { ...hourly, target: { url: "https://x.example/{{user}}" }, fanOut: { tenants: ["a"] } },
        "invalid_schedule",
        /unknown placeholder/,
      ],
      [{ ...hourly, cronn: "x" }, "unknown_option", /cronn/],
      [{ cron: "0 * * * *" }, "invalid_target", /target/],
    ];
    for (const [definition, code, message] of cases) {
      await assert.rejects(
        engine.schedules.upsert("bad", definition),
        (err: unknown) => isKeelError(err) && err.code === code && message.test(err.message),
        `${JSON.stringify(definition)} → ${code}`,
      );
    }
    assert.deepEqual(await engine.schedules.list(), []);
    await assert.rejects(engine.schedules.upsert("bad name!", hourly), (e: unknown) =>
      isKeelError(e, "invalid_schedule"),
    );
  });

  test("config sync creates, updates and removes; a repeated sync changes nothing; API schedules are left alone", async () => {
    const engine = await testEngine();
    await engine.schedules.upsert("from-api", hourly);
    const first = await engine.schedules.sync({
      a: hourly,
      b: { ...hourly, cron: "0 6 * * *", timezone: "Europe/London" },
    });
    assert.deepEqual(first, { created: ["a", "b"], updated: [], removed: [], unchanged: [] });
    const before = await engine.schedules.get("b");
    const again = await engine.schedules.sync({
      b: { cron: "0 6 * * *", timezone: "Europe/London", target: hourly.target },
      a: hourly,
    });
    assert.deepEqual(again, { created: [], updated: [], removed: [], unchanged: ["b", "a"] });
    const after = await engine.schedules.get("b");
    assert.equal(after.updatedAt.getTime(), before.updatedAt.getTime(), "an unchanged sync writes nothing");
    assert.equal(after.nextFireAt.getTime(), before.nextFireAt.getTime());

    const third = await engine.schedules.sync({ a: { ...hourly, overlap: "skip" } });
    assert.deepEqual(third, { created: [], updated: ["a"], removed: ["b"], unchanged: [] });
    assert.deepEqual(
      (await engine.schedules.list()).map((s) => `${s.name}:${s.managedBy}`),
      ["a:config", "from-api:api"],
    );
    await assert.rejects(engine.schedules.upsert("a", hourly), (e: unknown) =>
      isKeelError(e, "schedule_managed_by_config"),
    );
    await assert.rejects(engine.schedules.delete("a"), (e: unknown) =>
      isKeelError(e, "schedule_managed_by_config"),
    );
    await engine.schedules.delete("from-api");
    await assert.rejects(engine.schedules.get("from-api"), (e: unknown) =>
      isKeelError(e, "schedule_not_found"),
    );
  });

  test("next fire times follow the zone", async () => {
    const engine = await testEngine();
    await engine.schedules.upsert("ny", { ...hourly, cron: "30 2 * * *", timezone: "America/New_York" });
    const next = await engine.schedules.nextFireTimes("ny", 3, at("2026-03-07T00:00:00Z"));
    assert.deepEqual(
      next.map((d) => d.toISOString()),
      ["2026-03-07T07:30:00.000Z", "2026-03-08T07:30:00.000Z", "2026-03-09T06:30:00.000Z"],
    );
  });
});

describe("firing", () => {
  test("each slot makes one job per tenant, with the tenant filled into URL and headers", async () => {
    const engine = await testEngine();
    await engine.schedules.upsert("chase", {
      cron: "0 9 * * 1-5",
      timezone: "Europe/London",
      fanOut: { tenants: ["acme", "globex"] },
      target: {
        url: "https://crm.example.com/cron/{{tenant}}/chase",
        headers: { AUTH: "${QT_CRON_SECRET}", "X-Company-Id": "{{tenant}}" },
      },
    });
    await setCursor(engine, "chase", "2026-06-01T08:00:00Z"); // Monday 09:00 BST
    const s = clocked(engine);
    await s.tick("2026-06-01T07:59:59Z");
    assert.equal((await jobsOf(engine, "chase")).length, 0, "nothing before the slot");
    await s.tick("2026-06-01T08:00:00.300Z");
    await s.tick("2026-06-01T08:00:01Z");
    const jobs = await jobsOf(engine, "chase");
    assert.deepEqual(
      jobs.map((j) => [
        j.fire_time,
        j.tenant,
        j.target.url,
        j.target.headers?.["X-Company-Id"],
        j.target.headers?.AUTH,
      ]),
      [
        [
          "2026-06-01T08:00:00.000Z",
          "acme",
          "https://crm.example.com/cron/acme/chase",
          "acme",
          "${QT_CRON_SECRET}",
        ],
        [
          "2026-06-01T08:00:00.000Z",
          "globex",
          "https://crm.example.com/cron/globex/chase",
          "globex",
          "${QT_CRON_SECRET}",
        ],
      ],
    );
    assert.equal(
      iso((await engine.schedules.get("chase")).nextFireAt),
      "2026-06-02T08:00:00.000Z",
      "the cursor moved to Tuesday",
    );
    const lateness = s.events.filter((e) => e.outcome === "enqueued").map((e) => e.latenessSeconds);
    assert.deepEqual(lateness, [0.3, 0.3]);
  });

  test("registry fan-out follows the tenant registry", async () => {
    const engine = await testEngine();
    assert.deepEqual(await engine.schedules.addTenants(["t1", "t2"]), ["t1", "t2"]);
    assert.deepEqual(await engine.schedules.addTenants(["t2", "t3"]), ["t3"]);
    await assert.rejects(engine.schedules.addTenants(["bad tenant"]), (e: unknown) =>
      isKeelError(e, "invalid_tenant"),
    );
    await engine.schedules.removeTenant("t1");
    await assert.rejects(engine.schedules.removeTenant("t1"), (e: unknown) =>
      isKeelError(e, "tenant_not_found"),
    );
    await engine.schedules.upsert("reg", { ...hourly, fanOut: { registry: true } });
    await setCursor(engine, "reg", "2026-06-01T10:00:00Z");
    await clocked(engine).tick("2026-06-01T10:00:00Z");
    assert.deepEqual(
      (await jobsOf(engine, "reg")).map((j) => j.tenant),
      ["t2", "t3"],
    );
  });

  test("catch-up after downtime follows each missed policy", async () => {
    const engine = await testEngine();
    for (const missed of ["latest", "all", "skip"] as const) {
      await engine.schedules.upsert(`m-${missed}`, { ...hourly, missed, backfillSeconds: 4 * 3600 });
      await setCursor(engine, `m-${missed}`, "2026-06-01T00:00:00Z");
    }
    // Down from before midnight until 06:30: slots 00:00 … 06:00 were never decided.
    await clocked(engine).tick("2026-06-01T06:30:00Z");
    const fired = async (name: string) => (await jobsOf(engine, name)).map((j) => j.fire_time.slice(11, 16));
    assert.deepEqual(await fired("m-latest"), ["06:00"]);
    assert.deepEqual(
      await fired("m-all"),
      ["03:00", "04:00", "05:00", "06:00"],
      "within the 4 h backfill window",
    );
    assert.deepEqual(await fired("m-skip"), []);
    const skipped = async (name: string) =>
      (await engine.schedules.runs(name))
        .filter((r) => r.outcome === "skipped")
        .map(
          (r) =>
            `${r.reason} ${r.fireTime.toISOString().slice(11, 16)}-${r.lastFireTime?.toISOString().slice(11, 16)} ×${r.skippedCount}`,
        );
    assert.deepEqual(await skipped("m-latest"), ["missed 00:00-05:00 ×6"]);
    assert.deepEqual(await skipped("m-all"), ["missed 00:00-02:00 ×3"]);
    assert.deepEqual(await skipped("m-skip"), ["missed 00:00-06:00 ×7"]);
  });

  test("overlap: allow runs alongside, skip records the slot as skipped, queue runs it after the previous one", async () => {
    const engine = await testEngine();
    for (const overlap of ["allow", "skip", "queue"] as const) {
      await engine.schedules.upsert(`o-${overlap}`, {
        cron: "0 * * * *",
        overlap,
        target: { handler: `h-${overlap}` },
      });
      await setCursor(engine, `o-${overlap}`, "2026-06-01T10:00:00Z");
    }
    const s = clocked(engine);
    await s.tick("2026-06-01T10:00:00Z");
    await s.tick("2026-06-01T11:00:00Z"); // the 10:00 runs are unfinished
    const outcomes = async (name: string) =>
      (await engine.schedules.runs(name)).map(
        (r) => `${r.fireTime.toISOString().slice(11, 16)} ${r.outcome}${r.reason ? `:${r.reason}` : ""}`,
      );
    assert.deepEqual(await outcomes("o-allow"), ["11:00 enqueued", "10:00 enqueued"]);
    assert.deepEqual(await outcomes("o-skip"), ["11:00 skipped:overlap", "10:00 enqueued"]);
    assert.deepEqual(await outcomes("o-queue"), ["11:00 queued", "10:00 enqueued"]);
    assert.equal((await jobsOf(engine, "o-queue")).length, 1);

    // The 10:00 run of the queue schedule finishes: the queued 11:00 run gets its job.
    const [job] = await engine.claim({
      queue: "default",
      handlers: ["h-queue"],
      limit: 1,
      leaseMs: 60_000,
      workerId: "w",
      limited: false,
    });
    assert.ok(job);
    await s.tick("2026-06-01T11:00:05Z");
    assert.equal((await jobsOf(engine, "o-queue")).length, 1, "still running: the queued run waits");
    await engine.complete([job]);
    await s.tick("2026-06-01T11:00:06Z");
    assert.deepEqual(await outcomes("o-queue"), ["11:00 enqueued", "10:00 enqueued"]);
    assert.deepEqual(
      (await jobsOf(engine, "o-queue")).map((j) => j.fire_time.slice(11, 16)),
      ["10:00", "11:00"],
    );
  });

  test("pause and the scheduling switch skip slots; resume does not backfill unless asked", async () => {
    const engine = await testEngine();
    // Slots a few hours ago: resume measures the backfill window on the database clock.
    const hour = (h: number) =>
      new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 + (h - 8) * 3_600_000).toISOString();
    const hm = (d: Date | string) =>
      `${Math.round((new Date(d).getTime() - Date.parse(hour(0))) / 3_600_000)}:00`;
    await engine.schedules.upsert("p", hourly);
    await engine.schedules.upsert("q", hourly);
    for (const n of ["p", "q"]) await setCursor(engine, n, hour(10));
    const s = clocked(engine);
    const paused = await engine.schedules.pause("p", { actor: "ops", reason: "maintenance" });
    assert.equal(paused.paused, true);
    await s.tick(hour(10));
    await s.tick(hour(11));
    await engine.switches.set("scheduling", false, { actor: "ops" });
    await s.tick(hour(12));
    await engine.switches.set("scheduling", true, { actor: "ops" });
    const reasons = async (name: string) =>
      (await engine.schedules.runs(name)).map(
        (r) => `${hm(r.fireTime)} ${r.outcome}${r.reason ? `:${r.reason}` : ""}`,
      );
    assert.deepEqual(await reasons("p"), [
      "12:00 skipped:switch",
      "11:00 skipped:paused",
      "10:00 skipped:paused",
    ]);
    assert.deepEqual(await reasons("q"), ["12:00 skipped:switch", "11:00 enqueued", "10:00 enqueued"]);

    const resumed = await engine.schedules.resume("p", { actor: "ops" });
    assert.equal(resumed.backfilled, 0);
    assert.equal(resumed.schedule.paused, false);
    assert.deepEqual(await jobsOf(engine, "p"), []);

    await engine.schedules.pause("p", { actor: "ops" });
    await s.tick(hour(13));
    await s.tick(hour(14));
    const { backfilled } = await engine.schedules.resume("p", { actor: "ops", backfill: "latest" });
    assert.equal(backfilled, 1);
    assert.deepEqual(
      (await jobsOf(engine, "p")).map((j) => `${hm(j.fire_time)} ${j.trigger}`),
      ["14:00 backfill"],
    );
  });

  test("trigger runs now, once per tenant, even while paused", async () => {
    const engine = await testEngine();
    await engine.schedules.upsert("t", { ...hourly, fanOut: { tenants: ["a", "b"] } });
    await engine.schedules.pause("t", { actor: "ops" });
    const { jobs, fireTime } = await engine.schedules.trigger("t");
    assert.deepEqual(
      jobs.map((j) => j.tenant),
      ["a", "b"],
    );
    const made = await jobsOf(engine, "t");
    assert.deepEqual(
      made.map((j) => `${j.tenant} ${j.trigger} ${j.fire_time}`),
      [`a manual ${fireTime.toISOString()}`, `b manual ${fireTime.toISOString()}`],
    );
    await assert.rejects(engine.schedules.trigger("nope"), (e: unknown) =>
      isKeelError(e, "schedule_not_found"),
    );
  });

  test("jitter delays each job by up to jitterSeconds after its slot; the fire time stays the slot's", async () => {
    const engine = await testEngine();
    await engine.schedules.upsert("spread", {
      ...hourly,
      jitterSeconds: 600,
      fanOut: { tenants: ["a", "b", "c", "d", "e", "f"] },
    });
    await setCursor(engine, "spread", "2026-06-01T10:00:00Z");
    await clocked(engine).tick("2026-06-01T10:00:00Z");
    const { rows } = await engine.pool.query<{ run_at: Date; fire_time: string }>(
      `select run_at, origin->>'fireTime' as fire_time from "${engine.schema}".jobs where origin->>'schedule' = 'spread'`,
    );
    assert.equal(rows.length, 6);
    const slot = Date.parse("2026-06-01T10:00:00Z");
    for (const r of rows) {
      assert.equal(r.fire_time, "2026-06-01T10:00:00.000Z");
      assert.ok(
        r.run_at.getTime() >= slot && r.run_at.getTime() < slot + 600_000,
        `${r.run_at.toISOString()}`,
      );
    }
    assert.ok(new Set(rows.map((r) => r.run_at.getTime())).size > 1, "the delays differ");
  });

  test("run history pages through slots with the state of each job", async () => {
    const engine = await testEngine();
    await engine.schedules.upsert("h", { cron: "*/10 * * * * *", target: { handler: "noop" } });
    await setCursor(engine, "h", "2026-06-01T10:00:00Z");
    await clocked(engine).tick("2026-06-01T10:00:55Z");
    const first = await engine.schedules.runs("h", { limit: 4 });
    assert.deepEqual(
      first.map((r) => r.fireTime.toISOString().slice(14, 19)),
      ["00:50", "00:40", "00:30", "00:20"],
    );
    assert.ok(first.every((r) => r.jobState === "available" && r.jobId !== null));
    const last = first[first.length - 1] as (typeof first)[number];
    const second = await engine.schedules.runs("h", {
      limit: 4,
      before: { fireTime: last.fireTime, tenant: last.tenant },
    });
    assert.deepEqual(
      second.map((r) => r.fireTime.toISOString().slice(14, 19)),
      ["00:10", "00:00"],
    );
  });

  test("schedulers racing on one database make exactly one job per slot", async () => {
    const engine = await testEngine();
    await engine.schedules.upsert("race", {
      cron: "* * * * * *",
      fanOut: { tenants: ["x", "y"] },
      target: { handler: "noop" },
    });
    await setCursor(engine, "race", "2026-06-01T10:00:00Z");
    // Eight schedulers, each with its own pool, all deciding the same 300 slots at once, in steps.
    const schedulers = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const pool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 2 });
        onCleanup(() => pool.end());
        const { Engine } = await import("../src/index.js");
        const e = await Engine.connect({ pool, schema: engine.schema, migrate: false });
        return clocked(e);
      }),
    );
    for (let second = 0; second < 300; second += 7) {
      const time = new Date(at("2026-06-01T10:00:00Z").getTime() + second * 1000).toISOString();
      await Promise.all(schedulers.map((s) => s.tick(time)));
    }
    await Promise.all(schedulers.map((s) => s.tick("2026-06-01T10:04:59Z")));
    const jobs = await jobsOf(engine, "race");
    assert.equal(jobs.length, 600, "300 slots × 2 tenants");
    assert.equal(new Set(jobs.map((j) => `${j.fire_time} ${j.tenant}`)).size, 600, "no slot twice");
  });
});

function iso(d: Date): string {
  return d.toISOString();
}
