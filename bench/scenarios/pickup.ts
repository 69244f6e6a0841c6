/**
 * Scenario 3: idle pickup latency. With an idle worker running, one job at a time is enqueued
 * (spaced 20–50 ms apart, with jitter); the latency is the handler's start minus the start of
 * the enqueue call, both read from this process's clock. The first few samples per system are a
 * warm-up and are dropped. Each job must be picked up exactly once.
 */
import type { Worker } from "../../packages/engine/src/index.js";
import { createWorker, Engine } from "../../packages/engine/src/index.js";
import {
  bullPrefix,
  bullQueue,
  bullWorker,
  dropBullPrefix,
  GRAPHILE_NOTES,
  graphileUtils,
  startGraphile,
  startPgBoss,
  stopGraphile,
  stopPgBoss,
} from "../lib/peers-queue.js";
import { benchSchema, dropSchemas } from "../lib/postgres.js";
import type { BenchContext, ResultRow, Scenario } from "../lib/scenario.js";
import { percentile, sleep } from "../lib/stats.js";

const QUEUE = "bench";
/** Samples dropped per system in full runs (one in smoke runs). */
const WARMUP = 5;

/** A system with an idle worker that calls `started(k)` when the handler of job k begins. */
interface Subject {
  system: string;
  note: string;
  start(started: (k: number) => void): Promise<void>;
  enqueue(k: number): Promise<unknown>;
  stop(): Promise<void>;
}

export const pickup: Scenario = {
  name: "pickup",
  title: "3. Idle pickup latency (enqueue call to handler start)",
  target: "p50 and p99 no worse than graphile-worker",
  async run(ctx: BenchContext): Promise<ResultRow[]> {
    const samples = ctx.smoke ? 5 : 200;
    const warmup = ctx.smoke ? 1 : WARMUP;
    const schemas: string[] = [];
    const prefix = bullPrefix();
    const subjects: Subject[] = [];
    const rows: ResultRow[] = [];
    const results = new Map<Subject, { p50: number; p99: number }>();
    try {
      subjects.push(await keel(ctx, schemas));
      subjects.push(await graphile(ctx, schemas, "defaults"));
      subjects.push(await graphile(ctx, schemas, "best"));
      // pg-boss polls (at least every 0.5 s): context for full runs, too slow for a smoke run.
      if (!ctx.smoke) subjects.push(await pgBoss(ctx, schemas));
      if (ctx.redisUrl) subjects.push(bullmq(ctx.redisUrl, prefix));
      else ctx.log("no Redis: BullMQ left out");
      for (const s of subjects) {
        const latencies = await measure(s, warmup + samples, ctx.smoke ? 50 : 300);
        const kept = latencies.slice(warmup);
        const r = { p50: percentile(kept, 50), p99: percentile(kept, 99) };
        results.set(s, r);
        ctx.log(`${s.system} (${s.note}): p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms`);
      }
      const row = (system: string, metric: string, value: number, unit: string, note?: string) =>
        rows.push({ scenario: "pickup", system, metric, value, unit, ...(note ? { note } : {}) });
      for (const s of subjects) {
        const r = results.get(s) as { p50: number; p99: number };
        const note = `${s.note}; ${samples} jobs after ${warmup} warm-up, 20–50 ms apart`;
        row(s.system, "pickup p50", r.p50, "ms", note);
        row(s.system, "pickup p99", r.p99, "ms", s.note);
      }
      // The reference is graphile-worker's better configuration for this (lower is better).
      const k = results.get(subjects[0] as Subject) as { p50: number; p99: number };
      const gw = subjects.filter((s) => s.system === "graphile-worker").map((s) => results.get(s));
      const gwP50 = Math.min(...gw.map((r) => r?.p50 ?? Number.NaN));
      const gwP99 = Math.min(...gw.map((r) => r?.p99 ?? Number.NaN));
      row(
        "keel",
        "p50 ratio vs graphile-worker (best)",
        k.p50 / gwP50,
        "x",
        "Keel ÷ graphile-worker; target ≤ 1",
      );
      row(
        "keel",
        "p99 ratio vs graphile-worker (best)",
        k.p99 / gwP99,
        "x",
        "Keel ÷ graphile-worker; target ≤ 1",
      );
      return rows;
    } finally {
      for (const s of subjects) await s.stop().catch(() => {});
      await dropSchemas(ctx.databaseUrl, schemas);
      if (ctx.redisUrl) await dropBullPrefix(ctx.redisUrl, prefix);
    }
  },
};

/** Enqueues `n` jobs one at a time; returns each job's enqueue-to-handler-start milliseconds. */
async function measure(s: Subject, n: number, settleMs: number): Promise<number[]> {
  const sent = new Array<number>(n).fill(Number.NaN);
  const latency = new Array<number>(n).fill(Number.NaN);
  let waiting: (() => void) | undefined;
  await s.start((k) => {
    if (!Number.isNaN(latency[k] as number)) throw new Error(`${s.system}: job ${k} started twice`);
    latency[k] = performance.now() - (sent[k] as number);
    waiting?.();
  });
  await sleep(settleMs); // let the worker settle into its idle state
  for (let k = 0; k < n; k++) {
    const started = new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${s.system}: job ${k} not picked up in 10 s`)), 10_000);
      waiting = () => {
        clearTimeout(t);
        resolve();
      };
    });
    sent[k] = performance.now();
    await s.enqueue(k);
    await started;
    await sleep(20 + Math.random() * 30);
  }
  return latency;
}

async function keel(ctx: BenchContext, schemas: string[]): Promise<Subject> {
  const schema = benchSchema("keel_pickup");
  schemas.push(schema);
  const engine = await Engine.connect({
    connectionString: ctx.databaseUrl,
    schema,
    poolSize: 10,
    migrate: true,
  });
  let worker: Worker | undefined;
  return {
    system: "keel",
    note: "Keel createWorker, concurrency 10, LISTEN/NOTIFY",
    start: async (started) => {
      worker = createWorker({
        engine,
        queues: [QUEUE],
        concurrency: 10,
        maintenance: false,
        handlers: { noop: ({ payload }: { payload: { k: number } }) => started(payload.k) },
      });
      await worker.start();
    },
    enqueue: (k) => engine.enqueue({ queue: QUEUE, target: { handler: "noop" }, payload: { k } }),
    stop: async () => {
      await worker?.stop();
      await engine.close();
    },
  };
}

async function graphile(ctx: BenchContext, schemas: string[], config: "defaults" | "best"): Promise<Subject> {
  const schema = benchSchema(`gw_pickup_${config}`);
  schemas.push(schema);
  const utils = await graphileUtils(ctx.databaseUrl, schema);
  let runner: Awaited<ReturnType<typeof startGraphile>> | undefined;
  return {
    system: "graphile-worker",
    note: GRAPHILE_NOTES[config],
    start: async (started) => {
      runner = await startGraphile(ctx.databaseUrl, schema, config, {
        noop: async (payload) => started((payload as { k: number }).k),
      });
    },
    enqueue: (k) => utils.addJob("noop", { k }),
    stop: async () => {
      if (runner) await stopGraphile(runner);
      await utils.release();
    },
  };
}

async function pgBoss(ctx: BenchContext, schemas: string[]): Promise<Subject> {
  const schema = benchSchema("pgboss_pickup");
  schemas.push(schema);
  const boss = await startPgBoss(ctx.databaseUrl, schema, QUEUE);
  return {
    system: "pg-boss",
    note: "pg-boss 10.4.2, one worker, pollingIntervalSeconds 0.5 (its minimum; it polls, no LISTEN)",
    start: async (started) => {
      await boss.work<{ k: number }>(QUEUE, { pollingIntervalSeconds: 0.5 }, async (batch) => {
        for (const job of batch) started(job.data.k);
      });
    },
    enqueue: (k) => boss.send(QUEUE, { k }),
    stop: () => stopPgBoss(boss),
  };
}

function bullmq(redisUrl: string, prefix: string): Subject {
  const queue = bullQueue(redisUrl, prefix, QUEUE);
  let worker: ReturnType<typeof bullWorker> | undefined;
  return {
    system: "bullmq",
    note: "BullMQ 6.7.0, concurrency 10, Redis on loopback",
    start: async (started) => {
      worker = bullWorker(redisUrl, prefix, QUEUE, 10, async (job) => started((job.data as { k: number }).k));
      await worker.waitUntilReady();
    },
    enqueue: (k) => queue.add("noop", { k }),
    stop: async () => {
      await worker?.close();
      await queue.close();
    },
  };
}
