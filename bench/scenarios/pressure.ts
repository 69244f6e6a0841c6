/**
 * Issue 18, target 6: Keel, graphile-worker 0.18 and pg-boss 12 under the pressures that break
 * Postgres-backed queues in production, one system after another, each in a fresh child process
 * under a steady offered load (default 1,000 jobs/s, no-op handlers):
 *
 *   capacity             a short run as fast as the system drains (1.5x of it is the overload)
 *   baseline             steady load
 *   idle-in-transaction  a session holds an XID (BEGIN; SELECT txid_current()) for 10 min, then
 *                        commits; recovery follows (drain time measured from the release)
 *   active-readers       four REPEATABLE READ sessions count the system's tables in 30 s transactions
 *   storm                every 1–2 s pg_terminate_backend on every backend of the system, with up
 *                        to 300 idle connections held against the server; no crash, no lost job
 *   overload             1.5x the measured capacity for 5 min, then back to the steady load until
 *                        drained (last: its backlog can outlast any cap, and would hide the storm's
 *                        lost jobs)
 *
 * Each system gets a database of its own (dropped at the end), so the idle transaction and the
 * readers pin only its vacuum horizon and the storm reaches only its backends. Decision 059 says
 * how each phase is built and measured. BENCH_PRESSURE_SCALE (default 1) multiplies every phase
 * length; BENCH_PRESSURE_SECONDS="idleHold=600" sets single phases (unscaled); BENCH_PRESSURE_RATE sets the offered load; BENCH_PRESSURE_SYSTEMS picks systems
 * (comma-separated); BENCH_PRESSURE_IDLE_CONNECTIONS and BENCH_PRESSURE_CONNECTION_MARGIN set the
 * idle connections; BENCH_PRESSURE_CLUSTER (auto, own, given) whether it starts a Postgres of its
 * own with room for them (bench/lib/pressure-cluster.ts). Per-second series go to
 * bench/results/pressure-<phase>.json and .svg.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LATEST } from "../lib/peers-latest.js";
import { type LoadChild, startLoadChild } from "../lib/pressure-child.js";
import { pressureCluster } from "../lib/pressure-cluster.js";
import {
  createDatabase,
  databaseUrlOf,
  deadTupleSampler,
  dropDatabase,
  holdIdleConnections,
  holdXid,
  startReaders,
  startStorm,
} from "../lib/pressure-db.js";
import { type DriverConfig, histogramPercentile, type LoadTick } from "../lib/pressure-load.js";
import { lineChart } from "../lib/pressure-svg.js";
import type { BenchContext, ResultRow, Scenario } from "../lib/scenario.js";
import { percentile, sleep } from "../lib/stats.js";

const SYSTEMS = ["keel", "graphile-worker", "pg-boss"] as const;
type System = (typeof SYSTEMS)[number];
const QUEUE = "pressure";
const NOTES: Record<System, string> = {
  keel: "Keel (Node 20), createWorker concurrency 200, pool 20, history kept (each try recorded)",
  "graphile-worker": `graphile-worker ${LATEST.graphileWorker} (Node ${LATEST.node}), concurrency 50, pool 20, localQueue 500, completeJobBatchDelay 0`,
  "pg-boss": `pg-boss ${LATEST.pgBoss} (Node ${LATEST.node}), batchSize 100, localConcurrency 4, pool 20, burstWhenBatchFull`,
};
/** Phases with a time series and a plot. */
const PHASES = [
  "capacity",
  "baseline",
  "idle-in-transaction",
  "active-readers",
  "overload",
  "storm",
] as const;
type Phase = (typeof PHASES)[number];

/** Phase lengths in seconds at scale 1 (caps are the longest a drain is waited for). */
const FULL = {
  capacity: 30,
  settleCap: 120,
  baseline: 60,
  idleHold: 600,
  idleRecovery: 120,
  readers: 180,
  readerTransaction: 30,
  readersRecovery: 30,
  overload: 300,
  overloadRecoveryMin: 30,
  overloadRecoveryCap: 600,
  storm: 60,
  stormRecoveryMin: 30,
  stormRecoveryCap: 120,
  finalStall: 120,
  finalCap: 900,
};

export interface PressurePlan {
  scale: number;
  rate: number;
  systems: System[];
  idleConnections: number;
  connectionMargin: number;
  /** Seconds, scaled (at least 1 each; caps and the final wait at least 5). */
  s: Record<keyof typeof FULL, number>;
}

function envNumber(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${v}`);
  return n;
}

/**
 * Phase lengths at `scale`: at least 1 s each; outside the smoke test the capacity run, caps, the
 * window that must hold a drain and the final wait at least 5 s.
 */
function scaled(scale: number, smoke = false): Record<keyof typeof FULL, number> {
  const s = {} as Record<keyof typeof FULL, number>;
  for (const [k, v] of Object.entries(FULL) as [keyof typeof FULL, number][]) {
    const long = k.endsWith("Cap") || k === "finalStall" || k === "idleRecovery" || k === "capacity";
    s[k] = Math.max(long && !smoke ? 5 : 1, Math.round(v * scale));
  }
  return s;
}

export function pressurePlan(smoke: boolean): PressurePlan {
  const scale = envNumber("BENCH_PRESSURE_SCALE", smoke ? 0.002 : 1);
  const s = scaled(scale, smoke);
  // BENCH_PRESSURE_SECONDS="idleHold=600,overload=120": single phases at a length of their own,
  // unscaled (e.g. the idle transaction at its full ten minutes with the rest scaled down).
  for (const part of (process.env.BENCH_PRESSURE_SECONDS ?? "").split(",").filter(Boolean)) {
    const [name, value] = part.split("=");
    const seconds = Number(value);
    if (!name || !(name in FULL) || !(seconds > 0))
      throw new Error(
        `BENCH_PRESSURE_SECONDS: "${part}" is not <phase>=<seconds> with a phase of ${Object.keys(FULL).join(", ")}`,
      );
    s[name as keyof typeof FULL] = seconds;
  }
  const chosen = (process.env.BENCH_PRESSURE_SYSTEMS ?? "").split(",").filter(Boolean);
  for (const c of chosen)
    if (!SYSTEMS.includes(c as System)) throw new Error(`BENCH_PRESSURE_SYSTEMS: unknown system ${c}`);
  return {
    scale,
    rate: envNumber("BENCH_PRESSURE_RATE", smoke ? 200 : 1_000),
    systems: chosen.length ? (chosen as System[]) : [...SYSTEMS],
    idleConnections: envNumber("BENCH_PRESSURE_IDLE_CONNECTIONS", smoke ? 5 : 300),
    connectionMargin: envNumber("BENCH_PRESSURE_CONNECTION_MARGIN", 20),
    s,
  };
}

/** The shortest and longest a run takes, in seconds (drains end early or at their caps). */
export function pressureDuration(plan: PressurePlan): { min: number; max: number } {
  const s = plan.s;
  const fixed =
    s.capacity +
    s.baseline +
    s.idleHold +
    s.idleRecovery +
    s.readers +
    s.readersRecovery +
    s.overload +
    s.overloadRecoveryMin +
    s.storm +
    s.stormRecoveryMin;
  const caps =
    s.settleCap +
    s.overloadRecoveryCap -
    s.overloadRecoveryMin +
    s.stormRecoveryCap -
    s.stormRecoveryMin +
    s.finalStall +
    s.finalCap;
  // About 10 s a system to create its database, start and migrate.
  return { min: plan.systems.length * (fixed + 10), max: plan.systems.length * (fixed + caps + 10) };
}

type Tick = LoadTick & { dead?: Record<string, number> };

/** A phase's ticks of one system, with markers (seconds from the phase start). */
interface Window {
  phase: Phase;
  from: number;
  to: number;
  markers: { at: number; label: string }[];
}

interface SystemRun {
  system: System;
  ticks: Tick[];
  windows: Window[];
}

export const pressure: Scenario = {
  name: "pressure",
  title: "6. Pressure: idle transaction, active readers, overload, connection storm (steady load)",
  target:
    "idle in transaction: throughput within 20% of baseline, claim p99 < 50 ms, backlog drained ≤ 60 s after release; overload and storm: no crash, no lost job, recovery reported",
  async run(ctx: BenchContext): Promise<ResultRow[]> {
    const plan = pressurePlan(ctx.smoke);
    const d = pressureDuration(plan);
    const full = pressureDuration({ ...plan, s: scaled(1) });
    ctx.log(
      `pressure: scale ${plan.scale}, ${plan.rate} jobs/s offered, systems ${plan.systems.join(", ")}; ` +
        `this run takes ${minutes(d.min)}–${minutes(d.max)} min (at BENCH_PRESSURE_SCALE=1: ` +
        `${minutes(full.min)}–${minutes(full.max)} min)`,
    );
    const rows: ResultRow[] = [];
    const runs: SystemRun[] = [];
    const outDir = ctx.smoke
      ? mkdtempSync(join(tmpdir(), "keel-pressure-"))
      : fileURLToPath(new URL("../results/", import.meta.url));
    try {
      if (ctx.smoke) {
        // Nothing is measured in the smoke test: the systems run side by side to keep it short.
        const done = await Promise.all(
          plan.systems.map(async (system) => {
            const mine: ResultRow[] = [];
            return { run: await runSystem(ctx, plan, system, mine), mine };
          }),
        );
        for (const { run, mine } of done) {
          runs.push(run);
          rows.push(...mine);
        }
        writeSeries(outDir, plan, runs);
        return rows;
      }
      // A server with room for the storm's idle connections: the given one, or one of its own.
      const cluster = await pressureCluster(
        ctx.databaseUrl,
        plan.idleConnections,
        plan.connectionMargin,
        ctx.log,
      );
      ctx.log(`pressure: against ${cluster.note}`);
      try {
        for (const system of plan.systems) {
          const run = await runSystem({ ...ctx, databaseUrl: cluster.databaseUrl }, plan, system, rows);
          runs.push(run);
          writeSeries(outDir, plan, runs);
        }
      } finally {
        await cluster.stop();
      }
      return rows;
    } finally {
      if (ctx.smoke) rmSync(outDir, { recursive: true, force: true });
    }
  },
};

function minutes(seconds: number): string {
  return (seconds / 60).toFixed(seconds < 600 ? 1 : 0);
}

async function runSystem(
  ctx: BenchContext,
  plan: PressurePlan,
  system: System,
  rows: ResultRow[],
): Promise<SystemRun> {
  const s = plan.s;
  const row = (phase: string, metric: string, value: number, unit: string, note?: string) => {
    if (!Number.isFinite(value)) return;
    rows.push({
      scenario: "pressure",
      system,
      metric: `${phase}: ${metric}`,
      value,
      unit,
      ...(note ? { note } : {}),
    });
  };
  const db = await createDatabase(ctx.databaseUrl, system.replace("-", ""));
  const schema = `pressure_${system.replace("-", "_")}`;
  const config: DriverConfig = {
    system,
    databaseUrl: databaseUrlOf(ctx.databaseUrl, db, `pressure-${system}`),
    applicationName: `pressure-${system}`,
    schema,
    queue: QUEUE,
  };
  const cleanups: (() => Promise<unknown>)[] = [];
  const ticks: Tick[] = [];
  const windows: Window[] = [];
  let child: LoadChild | undefined;
  let current: Phase | "start" = "start";
  try {
    ctx.log(`${system}: database ${db}, ${NOTES[system]}`);
    let sampler: Awaited<ReturnType<typeof deadTupleSampler>> | undefined;
    child = startLoadChild(config, ctx.log, (tick) => {
      const t = tick as Tick;
      ticks.push(t);
      void sampler?.sample().then((dead) => {
        t.dead = dead;
      });
    });
    const c = child;
    cleanups.push(async () => c.kill());
    await c.ready;
    sampler = await deadTupleSampler(ctx.databaseUrl, db, schema);
    cleanups.push(() => (sampler as { close(): Promise<void> }).close());

    const alive = () => {
      const crash = c.crashed();
      if (crash) throw new CrashError(crash);
    };
    /** Waits `seconds`, failing fast when the child died. */
    const hold = async (seconds: number) => {
      const until = performance.now() + seconds * 1000;
      while (performance.now() < until) {
        alive();
        await sleep(Math.min(250, until - performance.now()));
      }
      alive();
    };
    const open = (phase: Phase): Window => {
      current = phase;
      const w: Window = { phase, from: ticks.length, to: ticks.length, markers: [] };
      windows.push(w);
      return w;
    };
    const close = (w: Window) => {
      w.to = ticks.length;
    };
    const mark = (w: Window, label: string) => w.markers.push({ at: ticks.length - w.from, label });
    /**
     * Waits until a tick shows the system recovered (after at least `minS`, at most `capS`
     * seconds); returns the seconds from the call to that tick, or undefined at the cap.
     */
    const drain = async (threshold: number, minS: number, capS: number): Promise<number | undefined> => {
      const t0 = performance.now();
      const first = ticks.length;
      let drainedAt: number | undefined;
      for (;;) {
        alive();
        const elapsed = (performance.now() - t0) / 1000;
        if (drainedAt === undefined)
          for (let i = first; i < ticks.length; i++)
            if (recovered(ticks[i] as Tick, threshold)) {
              drainedAt = elapsed;
              break;
            }
        if ((drainedAt !== undefined && elapsed >= minS) || elapsed >= capS) break;
        await sleep(250);
      }
      return drainedAt === undefined ? undefined : Math.round(drainedAt * 10) / 10;
    };

    // Capacity: as fast as the system drains, with a backlog kept waiting.
    const capW = open("capacity");
    c.send({ cmd: "rate", rate: null, backlog: Math.max(2_000, plan.rate * 5) });
    await hold(s.capacity);
    close(capW);
    // The first third warms up.
    const capTicks = ticks.slice(capW.from + Math.floor((capW.to - capW.from) / 3), capW.to);
    const capacity = mean(capTicks.map((t) => t.started));
    row(
      "capacity",
      "throughput",
      capacity,
      "jobs/s",
      `${NOTES[system]}; as fast as it drains, producer in the same process`,
    );
    if (capacity < plan.rate * 1.1)
      ctx.log(
        `${system}: capacity ${Math.round(capacity)} jobs/s is under 1.1x the offered ${plan.rate} jobs/s`,
      );

    // Settle at the steady rate, then the baseline.
    c.send({ cmd: "rate", rate: plan.rate });
    await drain(Math.max(50, plan.rate * 0.25), 1, s.settleCap);
    const baseW = open("baseline");
    await hold(s.baseline);
    close(baseW);
    const base = summarize(ticks.slice(baseW.from, baseW.to));
    const threshold = Math.max(50, plan.rate * 0.25, 1.5 * base.backlogP95);
    const phaseRows = (w: Window, label: string, extra?: string) => {
      const sum = summarize(ticks.slice(w.from, w.to));
      const ratio = sum.throughput / base.throughput;
      row(
        label,
        "throughput",
        sum.throughput,
        "jobs/s",
        `${label === "baseline" ? "" : `${ratio.toFixed(2)}x baseline; `}offered ${sum.offered} jobs/s, enqueued ${Math.round(sum.enqueued)} jobs/s${extra ? `; ${extra}` : ""}`,
      );
      row(
        label,
        "pickup p99",
        sum.pickupP99,
        "ms",
        `enqueue → handler start; p50 ${sum.pickupP50.toFixed(1)} ms`,
      );
      if (system === "keel")
        row(
          label,
          "claim p99",
          sum.claimP99,
          "ms",
          `engine.claim round trip with pool wait, timed in the driver${label.startsWith("idle") ? "; target < 50 ms" : ""}`,
        );
      if (sum.hotTable)
        row(
          label,
          "dead tuples max",
          sum.deadMax,
          "tuples",
          `${sum.hotTable} (pg_stat_user_tables.n_dead_tup)`,
        );
      if (sum.workerErrors || sum.enqueueErrors)
        row(
          label,
          "errors",
          sum.workerErrors + sum.enqueueErrors,
          "count",
          `${sum.workerErrors} worker, ${sum.enqueueErrors} enqueue`,
        );
    };
    phaseRows(baseW, "baseline");
    const drainRow = (label: string, secs: number | undefined, capS: number, target?: string) =>
      row(
        label,
        "drain",
        secs ?? capS,
        "s",
        `${secs === undefined ? `not drained within ${capS} s; ` : ""}backlog back to ≤ ${Math.round(threshold)} jobs, no enqueue error, starts ≥ 80% of the offered load${target ? `; ${target}` : ""}`,
      );

    // Idle in transaction: an XID held, then released; recovery at the steady rate.
    const idleW = open("idle-in-transaction");
    const xact = await holdXid(ctx.databaseUrl, db);
    cleanups.push(() => xact.release());
    ctx.log(`${system}: holding xid ${xact.xid} for ${s.idleHold} s`);
    await hold(s.idleHold);
    const holdEnd = ticks.length;
    await xact.release();
    mark(idleW, "release");
    const idleDrain = await drain(threshold, s.idleRecovery, s.idleRecovery);
    close(idleW);
    phaseRows({ ...idleW, to: holdEnd }, "idle-in-transaction (held)");
    phaseRows({ ...idleW, from: holdEnd }, "idle-in-transaction (recovery)");
    drainRow("idle-in-transaction", idleDrain, s.idleRecovery, "target ≤ 60 s");

    // Active readers: four REPEATABLE READ sessions counting the system's tables.
    const readW = open("active-readers");
    const readers = await startReaders(ctx.databaseUrl, db, schema, 4, s.readerTransaction * 1000);
    cleanups.push(() => readers.stop());
    await hold(s.readers);
    const readEnd = ticks.length;
    const read = await readers.stop();
    mark(readW, "readers stop");
    await hold(s.readersRecovery);
    close(readW);
    phaseRows(
      { ...readW, to: readEnd },
      "active-readers",
      `${read.transactions} reader transactions, ${read.scans} scans`,
    );

    // Storm: idle connections held, every backend of the system terminated every 1–2 s.
    const stormW = open("storm");
    const idle = await holdIdleConnections(ctx.databaseUrl, db, plan.idleConnections, plan.connectionMargin);
    cleanups.push(() => idle.release());
    if (idle.held < plan.idleConnections)
      ctx.log(
        `${system}: held ${idle.held} idle connections, not ${plan.idleConnections}: max_connections is ${idle.maxConnections} (margin ${plan.connectionMargin})`,
      );
    const storm = await startStorm(ctx.databaseUrl, db);
    cleanups.push(() => storm.stop());
    await hold(s.storm);
    const stormEnd = ticks.length;
    const stormed = await storm.stop();
    await idle.release();
    mark(stormW, "storm stops");
    const stormDrain = await drain(threshold, s.stormRecoveryMin, s.stormRecoveryCap);
    close(stormW);
    phaseRows(
      { ...stormW, to: stormEnd },
      "storm",
      `${idle.held} idle connections held (max_connections ${idle.maxConnections})`,
    );
    row(
      "storm",
      "backends terminated",
      stormed.killed,
      "count",
      `${stormed.rounds} rounds; ${stormed.applicationNames.join(", ")}`,
    );
    drainRow("storm", stormDrain, s.stormRecoveryCap, "recovery time after the storm");

    // Every job committed by now must start (the load goes on); duplicates counted apart.
    const check = await c.check(s.finalStall * 1000, s.finalCap * 1000);
    row(
      "storm",
      check.stalled || check.lost === 0 ? "lost jobs" : "not run at the cap",
      check.lost,
      "jobs",
      `of the ${check.jobs} jobs committed by the end of the storm's recovery, not started ${check.stalled || check.lost === 0 ? `when none of them had started for ${s.finalStall} s` : `after ${s.finalCap} s while they still started: not run yet, lost or not is unknown`}${check.lost ? `; e.g. k=${check.lostKeys.slice(0, 5).join(",")}` : ""}`,
    );
    row(
      "storm",
      "duplicate jobs",
      check.duplicates,
      "jobs",
      `${check.extraStarts} extra starts over the run so far`,
    );

    // Overload at 1.5x capacity, then the steady rate until drained.
    const overW = open("overload");
    const overRate = Math.round(capacity * 1.5);
    c.send({ cmd: "rate", rate: overRate });
    await hold(s.overload);
    const overEnd = ticks.length;
    c.send({ cmd: "rate", rate: plan.rate });
    mark(overW, "back to steady");
    const overDrain = await drain(threshold, s.overloadRecoveryMin, s.overloadRecoveryCap);
    close(overW);
    phaseRows({ ...overW, to: overEnd }, "overload", `offered 1.5x capacity = ${overRate} jobs/s`);
    row("overload", "backlog at end", ticks[overEnd - 1]?.backlog ?? Number.NaN, "jobs");
    drainRow("overload", overDrain, s.overloadRecoveryCap, `at the steady ${plan.rate} jobs/s`);

    // Stop the load; every committed job must have started.
    const result = await c.finish(s.finalStall * 1000, s.finalCap * 1000);
    row("whole run", "crashed", 0, "count", "the process stayed up through every phase");
    const example = result.lost ? `; e.g. k=${result.lostKeys.slice(0, 5).join(",")}` : "";
    row(
      "whole run",
      result.stalled || result.lost === 0 ? "lost jobs" : "not run at the cap",
      result.lost,
      "jobs",
      `${result.stalled || result.lost === 0 ? `committed jobs not started when none had started for ${s.finalStall} s` : `still draining the overload's backlog after ${s.finalCap} s without load: not run yet, lost or not is unknown`}; ${result.committed} committed${example}`,
    );
    row("whole run", "duplicate jobs", result.duplicates, "jobs", `${result.extraStarts} extra starts`);
    row(
      "whole run",
      "uncertain enqueues",
      result.uncertain,
      "jobs",
      `enqueue calls that failed (in the storm); ${result.uncertainStarted} of them ran after all; ${result.notSent} offered jobs never sent (the producer was behind when the rate changed)`,
    );
  } catch (err) {
    if (!(err instanceof CrashError)) throw err;
    ctx.log(`${system}: CRASHED: ${err.message}`);
    row("whole run", "crashed", 1, "count", `in the ${current} phase: ${err.message.slice(0, 300)}`);
  } finally {
    for (const w of windows) if (w.to < w.from || w.to === w.from) w.to = ticks.length;
    for (const fn of cleanups.reverse()) await fn().catch(() => {});
    child?.kill();
    await dropDatabase(ctx.databaseUrl, db).catch((e: unknown) => ctx.log(`drop ${db}: ${String(e)}`));
  }
  return { system, ticks, windows };
}

class CrashError extends Error {}

/**
 * A second of normal service: the backlog at or under `threshold`, every enqueue of the second
 * committed, and starts at 80% of the offered load or more (a system whose enqueues still fail
 * has a small backlog too, and is not recovered).
 */
function recovered(t: Tick, threshold: number): boolean {
  return (
    t.backlog <= threshold && t.enqueueErrors === 0 && (t.offered === null || t.started >= 0.8 * t.offered)
  );
}

function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN;
}

function summarize(ts: readonly Tick[]) {
  const dead = new Map<string, number>();
  for (const t of ts)
    for (const [table, n] of Object.entries(t.dead ?? {})) dead.set(table, Math.max(dead.get(table) ?? 0, n));
  let hotTable: string | undefined;
  let deadMax = 0;
  for (const [table, n] of dead)
    if (hotTable === undefined || n > deadMax) {
      hotTable = table;
      deadMax = n;
    }
  const offered = [...new Set(ts.map((t) => (t.offered === null ? "max" : String(t.offered))))].join("/");
  return {
    throughput: mean(ts.map((t) => t.started)),
    enqueued: mean(ts.map((t) => t.enqueued)),
    offered,
    pickupP50: histogramPercentile(
      ts.map((t) => t.pickup),
      50,
    ),
    pickupP99: histogramPercentile(
      ts.map((t) => t.pickup),
      99,
    ),
    claimP99: histogramPercentile(
      ts.map((t) => t.claim),
      99,
    ),
    backlogP95: ts.length
      ? percentile(
          ts.map((t) => t.backlog),
          95,
        )
      : 0,
    hotTable,
    deadMax,
    workerErrors: ts.reduce((a, t) => a + t.workerErrors, 0),
    enqueueErrors: ts.reduce((a, t) => a + t.enqueueErrors, 0),
  };
}

/** bench/results/pressure-<phase>.json (per-second series of every system) and .svg. */
function writeSeries(dir: string, plan: PressurePlan, runs: readonly SystemRun[]): void {
  mkdirSync(dir, { recursive: true });
  for (const phase of PHASES) {
    const systems: Record<string, unknown> = {};
    const throughput: { name: string; points: [number, number][] }[] = [];
    const p99: { name: string; points: [number, number][] }[] = [];
    const markers: { x: number; label: string }[] = [];
    for (const run of runs) {
      const w = run.windows.find((x) => x.phase === phase);
      if (!w) continue;
      const series = run.ticks.slice(w.from, w.to).map((t, i) => ({
        s: i + 1,
        offered: t.offered,
        enqueued: t.enqueued,
        started: t.started,
        backlog: t.backlog,
        pickupP50Ms: round(histogramPercentile([t.pickup], 50)),
        pickupP99Ms: round(histogramPercentile([t.pickup], 99)),
        claimP99Ms: round(histogramPercentile([t.claim], 99)),
        duplicates: t.duplicates,
        errors: t.workerErrors + t.enqueueErrors,
        // Tables with dead tuples only (Keel's schema has two dozen mostly idle ones).
        deadTuples: t.dead ? Object.fromEntries(Object.entries(t.dead).filter(([, n]) => n > 0)) : null,
      }));
      systems[run.system] = { markers: w.markers, series };
      throughput.push({ name: run.system, points: series.map((x) => [x.s, x.started]) });
      p99.push({
        name: run.system,
        points: series.map((x) => [x.s, x.pickupP99Ms ?? Number.NaN]),
      });
      for (const m of w.markers)
        if (!markers.some((x) => x.label === m.label && Math.abs(x.x - m.at) < 2))
          markers.push({ x: m.at, label: `${m.label}${runs.length > 1 ? ` (${run.system})` : ""}` });
    }
    if (Object.keys(systems).length === 0) continue;
    writeFileSync(
      join(dir, `pressure-${phase}.json`),
      `${JSON.stringify({ phase, scale: plan.scale, rate: plan.rate, systems }, null, 1)}\n`,
    );
    writeFileSync(
      join(dir, `pressure-${phase}.svg`),
      lineChart(
        `pressure: ${phase} (offered ${plan.rate} jobs/s, scale ${plan.scale})`,
        "seconds since the phase started",
        [
          { title: "throughput (handler starts)", unit: "jobs/s", series: throughput },
          { title: "pickup latency p99 (enqueue → start)", unit: "ms", series: p99, log: true },
        ],
        markers,
      ),
    );
  }
}

function round(v: number): number | null {
  return Number.isFinite(v) ? Math.round(v * 10) / 10 : null;
}
