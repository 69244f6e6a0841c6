import assert from "node:assert/strict";
import { test } from "node:test";
import { type PeriodicOptions, PeriodicTask } from "../src/index.js";
import { ManualClock } from "./clock.js";
import { deferred } from "./helpers.js";

// The periodic-task primitive on a hand-moved clock: no test here waits on real time.

function task<R>(clock: ManualClock, options: Partial<PeriodicOptions<R>> & Pick<PeriodicOptions<R>, "run">) {
  return new PeriodicTask<R>({ name: "t", intervalMs: 1_000, jitter: 0, clock, ...options });
}

test("runs after each interval, not before; `immediate` runs once at start", async () => {
  const clock = new ManualClock();
  let runs = 0;
  const t = task(clock, { run: async () => ++runs }).start();
  clock.advance(999);
  assert.equal(runs, 0, "not before the interval");
  const first = t.ran();
  clock.advance(1);
  assert.deepEqual(await first, { task: "t", ok: true, result: 1, durationMs: 0 });
  const second = t.ran();
  clock.advance(1_000);
  assert.equal((await second).ok, true);
  assert.equal(t.runs, 2);
  await t.stop();

  let now = 0;
  const eager = task(clock, { immediate: true, run: async () => ++now });
  const ran = eager.ran();
  eager.start();
  assert.equal((await ran).ok, true);
  assert.equal(now, 1, "ran without the clock moving");
  await eager.stop();
});

test("jitter keeps every wait within interval × [1 - jitter, 1 + jitter]", async () => {
  const clock = new ManualClock();
  const draws = [0, 0.999_999, 0.5, 0.25];
  let i = 0;
  const t = task(clock, {
    jitter: 0.2,
    random: () => draws[i++ % draws.length] as number,
    run: async () => 0,
  });
  t.start();
  for (let n = 0; n < 7; n++) {
    const ran = t.ran();
    clock.advance(1_200);
    await ran;
  }
  await t.stop();
  assert.equal(clock.delays.length, 8);
  for (const d of clock.delays) assert.ok(d >= 800 && d <= 1_200, `wait ${d} outside [800, 1200]`);
  assert.deepEqual(clock.delays.slice(0, 4), [800, 1_200, 1_000, 900], "the draws map onto the whole range");

  // Many random draws: the bounds hold, and waits spread over the range rather than sitting at one value.
  const spread = new ManualClock();
  const r = task(spread, { jitter: 0.1, intervalMs: 10_000, run: async () => 0 }).start();
  for (let n = 0; n < 50; n++) {
    const ran = r.ran();
    spread.advance(11_000);
    await ran;
  }
  await r.stop();
  assert.ok(spread.delays.every((d) => d >= 9_000 && d <= 11_000));
  assert.ok(new Set(spread.delays).size > 10, "jittered, not fixed");
});

test("runs never overlap: the next wait starts only when a run ends", async () => {
  const clock = new ManualClock();
  const gate = deferred();
  let active = 0;
  let most = 0;
  const t = task(clock, {
    run: async () => {
      active++;
      most = Math.max(most, active);
      await gate.promise;
      active--;
    },
  }).start();
  clock.advance(1_000);
  assert.equal(active, 1);
  assert.equal(clock.timers, 0, "no next run is scheduled while one is in progress");
  clock.advance(10_000);
  assert.equal(active, 1, "time passing during a slow run starts no second run");
  const ran = t.ran();
  gate.resolve();
  await ran;
  assert.equal(clock.timers, 1, "the next run is timed from the end of this one");
  assert.equal(most, 1);
  await t.stop();
});

test("failures back off 250 ms, doubling, capped at maxBackoffMs; a success restores the interval", async () => {
  const clock = new ManualClock();
  let fail = true;
  const reports: { ok: boolean; failures?: number }[] = [];
  const t = task(clock, {
    intervalMs: 60_000,
    maxBackoffMs: 2_000,
    run: async () => {
      if (fail) throw new Error("database is down");
      return "ok";
    },
    onRun: (r) => reports.push(r.ok ? { ok: true } : { ok: false, failures: r.failures }),
  }).start();
  for (let n = 0; n < 6; n++) {
    const ran = t.ran();
    clock.advance(60_000);
    await ran;
  }
  assert.deepEqual(clock.delays, [60_000, 250, 500, 1_000, 2_000, 2_000, 2_000]);
  assert.deepEqual(
    reports.map((r) => r.failures),
    [1, 2, 3, 4, 5, 6],
  );
  assert.equal(t.failing, 6);
  fail = false;
  const ran = t.ran();
  clock.advance(2_000);
  assert.equal((await ran).ok, true, "work resumed within the 2 s cap of the outage ending");
  assert.equal(t.failing, 0);
  assert.equal(clock.delays.at(-1), 60_000, "back to the interval");
  await t.stop();
});

test("stop() waits for the run in progress and cancels the next one", async () => {
  const clock = new ManualClock();
  const gate = deferred();
  let finished = false;
  const t = task(clock, {
    run: async () => {
      await gate.promise;
      finished = true;
    },
  }).start();
  clock.advance(1_000);
  let stopped = false;
  const stopping = t.stop().then(() => {
    stopped = true;
  });
  await Promise.resolve();
  assert.equal(stopped, false, "stop() has not returned while the run is in progress");
  gate.resolve();
  await stopping;
  assert.equal(finished, true, "the run in progress completed before stop() resolved");
  assert.equal(clock.timers, 0, "no run scheduled after stop");
  clock.advance(10_000);
  assert.equal(t.runs, 1);

  // Stopped while waiting: the timer is cleared and nothing runs.
  const idle = task(clock, { run: async () => assert.fail("must not run") }).start();
  await idle.stop();
  clock.advance(10_000);
  assert.equal(idle.runs, 0);
});

test("a run that throws before returning a promise, or a hook that throws, does not end the task", async () => {
  const clock = new ManualClock();
  let calls = 0;
  const t = task<number>(clock, {
    run: () => {
      calls++;
      if (calls === 1) throw new Error("synchronous");
      return Promise.resolve(calls);
    },
    onRun: () => {
      throw new Error("a broken hook");
    },
  }).start();
  let ran = t.ran();
  clock.advance(1_000);
  const first = await ran;
  assert.equal(first.ok, false);
  assert.equal(!first.ok && (first.error as Error).message, "synchronous");
  ran = t.ran();
  clock.advance(250); // the first backoff
  assert.deepEqual(await ran, { task: "t", ok: true, result: 2, durationMs: 0 });
  await t.stop();
});

test("options are checked", () => {
  const clock = new ManualClock();
  assert.throws(() => task(clock, { intervalMs: 0, run: async () => 0 }), /intervalMs must be above 0/);
  assert.throws(() => task(clock, { jitter: 1, run: async () => 0 }), /jitter must be in \[0, 1\)/);
});
