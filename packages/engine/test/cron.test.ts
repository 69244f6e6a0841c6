import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { CronSchedule, isKeelError } from "../src/index.js";
import { planSlots } from "../src/schedules/plan.js";

const iso = (d: Date | null) => d?.toISOString() ?? null;
const at = (s: string) => new Date(s);

/** Every slot in [from, to). */
function slotsBetween(cron: CronSchedule, from: string, to: string): string[] {
  const out: string[] = [];
  let slot = cron.next(new Date(at(from).getTime() - 1));
  while (slot && slot < at(to)) {
    out.push(slot.toISOString());
    slot = cron.next(slot);
  }
  return out;
}

describe("cron expressions", () => {
  test("five fields, six with seconds, and the errors name the field", () => {
    assert.equal(
      iso(new CronSchedule("0 6 * * *", "UTC").next(at("2026-01-01T06:00:00Z"))),
      "2026-01-02T06:00:00.000Z",
    );
    assert.equal(
      iso(new CronSchedule("*/10 * * * * *", "UTC").next(at("2026-01-01T00:00:00.500Z"))),
      "2026-01-01T00:00:10.000Z",
    );
    for (const [expr, tz, code] of [
      ["61 * * * *", "UTC", "invalid_cron"],
      ["* * *", "UTC", "invalid_cron"],
      ["", "UTC", "invalid_cron"],
      ["0 0 30 2 *", "UTC", "invalid_cron"],
      ["* * * * * * *", "UTC", "invalid_cron"],
      ["0 6 * * *", "Mars/Olympus_Mons", "invalid_timezone"],
      ["0 6 * * *", "", "invalid_timezone"],
    ] as const) {
      assert.throws(
        () => new CronSchedule(expr, tz),
        (err: unknown) =>
          isKeelError(err, code) && err.message.includes(code === "invalid_cron" ? "cron:" : "timezone:"),
        `${expr} in ${tz}`,
      );
    }
  });

  test("a daily 02:30 runs once on both transition days in New York", () => {
    const cron = new CronSchedule("30 2 * * *", "America/New_York");
    // Spring forward (2026-03-08, 02:00 EST → 03:00 EDT): 02:30 does not exist; it runs at 03:30 EDT.
    assert.deepEqual(slotsBetween(cron, "2026-03-07T05:00:00Z", "2026-03-10T04:00:00Z"), [
      "2026-03-07T07:30:00.000Z", // 02:30 EST
      "2026-03-08T07:30:00.000Z", // 03:30 EDT, shifted by the gap
      "2026-03-09T06:30:00.000Z", // 02:30 EDT
    ]);
    // Fall back (2026-11-01, 02:00 EDT → 01:00 EST): 02:30 happens once, in EST.
    assert.deepEqual(slotsBetween(cron, "2026-10-31T04:00:00Z", "2026-11-03T05:00:00Z"), [
      "2026-10-31T06:30:00.000Z", // 02:30 EDT
      "2026-11-01T07:30:00.000Z", // 02:30 EST
      "2026-11-02T07:30:00.000Z",
    ]);
  });

  test("a daily 02:30 runs once on both transition days in London, and 01:30 too", () => {
    const at0230 = new CronSchedule("30 2 * * *", "Europe/London");
    // Spring forward (2026-03-29, 01:00 GMT → 02:00 BST): 02:30 BST exists.
    assert.deepEqual(slotsBetween(at0230, "2026-03-28T00:00:00Z", "2026-03-30T23:00:00Z"), [
      "2026-03-28T02:30:00.000Z",
      "2026-03-29T01:30:00.000Z",
      "2026-03-30T01:30:00.000Z",
    ]);
    // Fall back (2026-10-25, 02:00 BST → 01:00 GMT): 02:30 GMT happens once.
    assert.deepEqual(slotsBetween(at0230, "2026-10-24T00:00:00Z", "2026-10-26T12:00:00Z"), [
      "2026-10-24T01:30:00.000Z",
      "2026-10-25T02:30:00.000Z",
      "2026-10-26T02:30:00.000Z",
    ]);
    const at0130 = new CronSchedule("30 1 * * *", "Europe/London");
    // 01:30 is in the gap in spring (runs at 02:30 BST) and in the repeated hour in autumn (runs once, BST).
    assert.deepEqual(slotsBetween(at0130, "2026-03-29T00:00:00Z", "2026-03-29T23:00:00Z"), [
      "2026-03-29T01:30:00.000Z",
    ]);
    assert.deepEqual(slotsBetween(at0130, "2026-10-24T23:00:00Z", "2026-10-25T23:00:00Z"), [
      "2026-10-25T00:30:00.000Z",
    ]);
  });

  test("hourly runs keep real-time cadence across the repeated and the missing hour", () => {
    for (const tz of ["America/New_York", "Europe/London"]) {
      const hourly = new CronSchedule("0 * * * *", tz);
      const fall =
        tz === "America/New_York"
          ? ["2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z"]
          : ["2026-10-24T23:00:00Z", "2026-10-26T00:00:00Z"];
      const spring =
        tz === "America/New_York"
          ? ["2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z"]
          : ["2026-03-29T00:00:00Z", "2026-03-29T23:00:00Z"];
      const long = slotsBetween(hourly, fall[0] as string, fall[1] as string);
      assert.equal(long.length, 25, `${tz}: the 25-hour day has 25 hourly runs`);
      for (let i = 1; i < long.length; i++) {
        assert.equal(
          Date.parse(long[i] as string) - Date.parse(long[i - 1] as string),
          3_600_000,
          `${tz}: one hour apart`,
        );
      }
      assert.equal(
        slotsBetween(hourly, spring[0] as string, spring[1] as string).length,
        23,
        `${tz}: 23 runs`,
      );
    }
    const halfHourly = new CronSchedule("*/30 * * * *", "America/New_York");
    const repeated = slotsBetween(halfHourly, "2026-11-01T04:30:00Z", "2026-11-01T07:30:00Z");
    assert.deepEqual(repeated, [
      "2026-11-01T04:30:00.000Z",
      "2026-11-01T05:00:00.000Z", // 01:00 EDT
      "2026-11-01T05:30:00.000Z",
      "2026-11-01T06:00:00.000Z", // 01:00 EST, the repeated hour
      "2026-11-01T06:30:00.000Z",
      "2026-11-01T07:00:00.000Z",
    ]);
  });

  test("previous and next agree about which instants are slots (property)", () => {
    const expressions = ["0 * * * *", "30 2 * * *", "*/15 * * * *", "0 9 * * 1-5", "15 1 * * *"];
    const zones = ["America/New_York", "Europe/London", "UTC", "Australia/Lord_Howe"];
    fc.assert(
      fc.property(
        fc.constantFrom(...expressions),
        fc.constantFrom(...zones),
        fc.integer({ min: Date.parse("2026-01-01T00:00:00Z"), max: Date.parse("2027-12-31T00:00:00Z") }),
        (expr, tz, ms) => {
          const cron = new CronSchedule(expr, tz);
          const slot = cron.next(new Date(ms)) as Date;
          const after = cron.next(slot) as Date;
          assert.ok(after > slot);
          assert.equal(iso(cron.previous(after)), iso(slot));
          assert.ok((cron.previous(slot) as Date) < slot);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("planning slots", () => {
  const hourly = new CronSchedule("0 * * * *", "UTC");
  const base = {
    cron: hourly,
    graceMs: 60_000,
    backfillSeconds: 86_400,
    overlap: "allow" as const,
    blocked: null,
    enqueueDisabled: false,
    tenants: [""],
    maxSlots: 1000,
  };
  const plan = (over: Partial<Parameters<typeof planSlots>[0]>) =>
    planSlots({
      ...base,
      nextFireAt: at("2026-05-01T10:00:00Z"),
      now: at("2026-05-01T10:00:00.200Z"),
      missed: "latest",
      busy: new Set(),
      queued: new Map(),
      ...over,
    });
  const summary = (p: ReturnType<typeof planSlots>) =>
    p.runs.map(
      (r) =>
        `${r.fireTime.toISOString().slice(11, 16)} ${r.outcome}${r.reason ? `:${r.reason}` : ""}${r.skippedCount ? `×${r.skippedCount}` : ""}`,
    );

  test("an on-time slot fires and the cursor moves to the next one", () => {
    const p = plan({});
    assert.deepEqual(summary(p), ["10:00 enqueued"]);
    assert.equal(iso(p.nextFireAt), "2026-05-01T11:00:00.000Z");
  });

  test("after downtime, latest fires the most recent missed slot once and skips the rest", () => {
    const p = plan({ nextFireAt: at("2026-05-01T05:00:00Z"), now: at("2026-05-01T10:30:00Z") });
    assert.deepEqual(summary(p), ["05:00 skipped:missed×5", "10:00 enqueued"]);
    assert.equal(iso(p.runs[0]?.lastFireTime ?? null), "2026-05-01T09:00:00.000Z");
    assert.equal(iso(p.nextFireAt), "2026-05-01T11:00:00.000Z");
  });

  test("skip drops every missed slot; all fires them within the backfill window", () => {
    const down = { nextFireAt: at("2026-05-01T05:00:00Z"), now: at("2026-05-01T10:30:00Z") };
    assert.deepEqual(summary(plan({ ...down, missed: "skip" })), ["05:00 skipped:missed×6"]);
    assert.deepEqual(summary(plan({ ...down, missed: "all" })), [
      "05:00 enqueued",
      "06:00 enqueued",
      "07:00 enqueued",
      "08:00 enqueued",
      "09:00 enqueued",
      "10:00 enqueued",
    ]);
    assert.deepEqual(summary(plan({ ...down, missed: "all", backfillSeconds: 3 * 3600 })), [
      "05:00 skipped:missed×3",
      "08:00 enqueued",
      "09:00 enqueued",
      "10:00 enqueued",
    ]);
  });

  test("a late slot within the grace period simply fires", () => {
    const p = plan({ now: at("2026-05-01T10:00:45Z"), missed: "skip" });
    assert.deepEqual(summary(p), ["10:00 enqueued"]);
  });

  test("overlap skip and queue, per tenant", () => {
    const tenants = ["acme", "globex"];
    const skip = plan({ overlap: "skip", tenants, busy: new Set(["acme"]) });
    assert.deepEqual(
      skip.runs.map((r) => `${r.tenant} ${r.outcome}`),
      ["acme skipped", "globex enqueued"],
    );
    const queued = new Map([["acme", [{ fireTime: at("2026-05-01T09:00:00Z"), kind: "cron" as const }]]]);
    const q = plan({ overlap: "queue", tenants, busy: new Set(["globex"]), queued });
    assert.deepEqual(
      q.released.map((r) => `${r.tenant} ${r.fireTime.toISOString().slice(11, 16)}`),
      ["acme 09:00"],
    );
    assert.deepEqual(
      q.runs.map((r) => `${r.tenant} ${r.outcome}`),
      ["acme queued", "globex queued"],
    );
  });

  test("paused and switched-off schedules record skipped slots; maxSlots leaves the rest for later", () => {
    assert.deepEqual(summary(plan({ blocked: "paused" })), ["10:00 skipped:paused"]);
    assert.deepEqual(summary(plan({ blocked: "switch" })), ["10:00 skipped:switch"]);
    const p = plan({
      cron: new CronSchedule("* * * * * *", "UTC"),
      now: at("2026-05-01T10:00:20Z"),
      maxSlots: 5,
    });
    assert.equal(p.runs.length, 5);
    assert.equal(p.more, true);
    assert.equal(iso(p.nextFireAt), "2026-05-01T10:00:05.000Z");
  });
});
