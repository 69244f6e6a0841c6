/**
 * Scenario 2: pull-worker processing of no-op jobs. Each system gets the same number of jobs
 * enqueued in bulk (not timed), then the clock runs from the worker's start until the store
 * shows every job durably finished. A small warm-up round per system (same code, excluded)
 * comes first. Every handler call is counted per job: each job must run exactly once, and Keel
 * must have written one history row and one attempt per job.
 */
import type { Engine, Worker } from "../../packages/engine/src/index.js";
import { createWorker, Engine as KeelEngine } from "../../packages/engine/src/index.js";
import { costNote, meterCost } from "../lib/cost.js";
import {
  bullPrefix,
  bullQueue,
  bullWorker,
  dropBullPrefix,
  GRAPHILE_NOTES,
  type GraphileConfig,
  graphileJobsLeft,
  graphileUtils,
  pgBossCount,
  startGraphile,
  startPgBoss,
  stopGraphile,
  stopPgBoss,
} from "../lib/peers-queue.js";
import { benchSchema, dropSchemas } from "../lib/postgres.js";
import type { BenchContext, ResultRow, Scenario } from "../lib/scenario.js";
import { perSecond, sleep } from "../lib/stats.js";

const QUEUE = "bench";
const BATCH = 1_000;

/** One configuration of one system: enqueue `n` jobs, then process them all. */
interface Contender {
  system: string;
  note: string;
  /** Enqueues jobs with payload {k} for k in [from, from + n). */
  fill(from: number, n: number): Promise<void>;
  /** Starts workers that call `seen(k)` per job; resolves when all `n` are durably done. */
  process(n: number, seen: (k: number) => void): Promise<{ ms: number; stop(): Promise<void> }>;
  /** Checks the store after the run; throws when something is off. */
  verify?(total: number): Promise<void>;
  close(): Promise<void>;
}

export const processScenario: Scenario = {
  name: "process",
  title: "2. Pull-worker processing of no-op jobs (50,000 pre-enqueued)",
  target: "≥ 1.5x graphile-worker (best configuration) and ≥ 2x BullMQ, with attempt history kept",
  async run(ctx: BenchContext): Promise<ResultRow[]> {
    const jobs = ctx.smoke ? 500 : 50_000;
    const warm = ctx.smoke ? 100 : 2_000;
    const schemas: string[] = [];
    const prefix = bullPrefix();
    const rows: ResultRow[] = [];
    const contenders: Contender[] = [];
    try {
      for (const concurrency of ctx.smoke ? [50] : [100, 200])
        contenders.push(await keel(ctx, schemas, concurrency));
      for (const config of ["defaults", "best"] as const)
        contenders.push(await graphile(ctx, schemas, config));
      contenders.push(await pgBoss(ctx, schemas));
      if (ctx.redisUrl)
        for (const concurrency of ctx.smoke ? [50] : [100, 200])
          contenders.push(bullmq(ctx.redisUrl, prefix, concurrency));
      else ctx.log("no Redis: BullMQ left out");

      const rate = new Map<Contender, number>();
      const costs = new Map<Contender, string>();
      for (const c of contenders) {
        let next = 0;
        for (const size of [warm, jobs]) {
          ctx.log(`${c.system} (${c.note}): ${size} jobs`);
          await c.fill(next, size);
          const counts = new Uint8Array(size);
          const base = next;
          const stopMeter = await meterCost(ctx.databaseUrl);
          const run = await c.process(size, (k) => {
            const i = k - base;
            if (i >= 0 && i < size) counts[i] = (counts[i] as number) + 1;
            else throw new Error(`${c.system}: unexpected job ${k}`);
          });
          const cost = await stopMeter();
          await run.stop();
          if (size === jobs) costs.set(c, costNote(cost, size));
          const wrong = counts.findIndex((n) => n !== 1);
          if (wrong >= 0) throw new Error(`${c.system}: job ${base + wrong} ran ${counts[wrong]} times`);
          next += size;
          if (size === jobs) rate.set(c, perSecond(jobs, run.ms));
        }
        await c.verify?.(next);
        ctx.log(`${c.system} (${c.note}): ${Math.round(rate.get(c) as number)} jobs/s`);
      }

      const row = (system: string, metric: string, value: number, unit: string, note?: string) =>
        rows.push({ scenario: "process", system, metric, value, unit, ...(note ? { note } : {}) });
      for (const c of contenders)
        row(
          c.system,
          "processed",
          rate.get(c) as number,
          "jobs/s",
          `${c.note}; ${jobs} jobs after ${warm} warm-up; ${costs.get(c)}`,
        );
      const bestOf = (system: string, note?: string) =>
        Math.max(
          ...contenders
            .filter((c) => c.system === system && (!note || c.note === note))
            .map((c) => rate.get(c) ?? 0),
        );
      const keelBest = bestOf("keel");
      const gwBest = bestOf("graphile-worker", GRAPHILE_NOTES.best);
      row(
        "keel",
        "ratio vs graphile-worker (best)",
        keelBest / gwBest,
        "x",
        "target ≥ 1.5; Keel's best concurrency",
      );
      if (ctx.redisUrl)
        row(
          "keel",
          "ratio vs BullMQ",
          keelBest / bestOf("bullmq"),
          "x",
          "target ≥ 2; both at their best concurrency",
        );
      return rows;
    } finally {
      for (const c of contenders) await c.close().catch(() => {});
      await dropSchemas(ctx.databaseUrl, schemas);
      if (ctx.redisUrl) await dropBullPrefix(ctx.redisUrl, prefix);
    }
  },
};

/** Calls `add` with the keys [from, from + n), BATCH at a time, one batch after another. */
async function inBatches(from: number, n: number, add: (ks: number[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < n; i += BATCH)
    await add(Array.from({ length: Math.min(BATCH, n - i) }, (_, j) => from + i + j));
}

/** Resolves when `check()` (polled every 5 ms) turns true. */
async function until(check: () => Promise<boolean>, timeoutMs = 300_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error("timed out waiting for the jobs to finish");
    await sleep(5);
  }
}

/** A promise resolved by the `n`th call of the returned function. */
function countdown(n: number): { tick(): void; done: Promise<void> } {
  let left = n;
  let resolve!: () => void;
  const done = new Promise<void>((r) => {
    resolve = r;
  });
  return {
    tick: () => {
      if (--left === 0) resolve();
    },
    done,
  };
}

async function keel(ctx: BenchContext, schemas: string[], concurrency: number): Promise<Contender> {
  const schema = benchSchema(`keel_proc${concurrency}`);
  schemas.push(schema);
  const engine: Engine = await KeelEngine.connect({
    connectionString: ctx.databaseUrl,
    schema,
    poolSize: 20,
    migrate: true,
  });
  const count = async (sql: string) =>
    (await engine.pool.query<{ n: number }>(sql.replaceAll("$s", `"${schema}"`))).rows[0]?.n ?? 0;
  return {
    system: "keel",
    note: `Keel createWorker, concurrency ${concurrency}, pool 20, history and attempts kept`,
    fill: (from, n) =>
      inBatches(from, n, (ks) =>
        engine.enqueueMany(ks.map((k) => ({ queue: QUEUE, target: { handler: "noop" }, payload: { k } }))),
      ),
    process: async (n, seen) => {
      // onJobEnd runs after the completion is committed.
      const finished = countdown(n);
      let worker: Worker | undefined;
      const t = performance.now();
      worker = createWorker({
        engine,
        queues: [QUEUE],
        concurrency,
        maintenance: false,
        handlers: { noop: ({ payload }: { payload: { k: number } }) => seen(payload.k) },
        hooks: {
          onJobEnd: (_job, r) => {
            if (r.outcome !== "succeeded") throw new Error(`keel job ended ${r.outcome}`);
            finished.tick();
          },
        },
      });
      await worker.start();
      await finished.done;
      const ms = performance.now() - t;
      return { ms, stop: () => (worker as Worker).stop() };
    },
    verify: async (total) => {
      const left = await count("select count(*)::int as n from $s.jobs");
      const history = await count("select count(*)::int as n from $s.job_history where state = 'succeeded'");
      const attempts = await count("select count(*)::int as n from $s.attempts where outcome = 'succeeded'");
      if (left !== 0 || history !== total || attempts !== total)
        throw new Error(
          `keel: ${left} jobs left, ${history} in history, ${attempts} attempts; expected ${total}`,
        );
    },
    close: () => engine.close(),
  };
}

async function graphile(ctx: BenchContext, schemas: string[], config: GraphileConfig): Promise<Contender> {
  const schema = benchSchema(`gw_proc_${config}`);
  schemas.push(schema);
  const utils = await graphileUtils(ctx.databaseUrl, schema);
  return {
    system: "graphile-worker",
    note: GRAPHILE_NOTES[config],
    fill: (from, n) =>
      inBatches(from, n, (ks) => utils.addJobs(ks.map((k) => ({ identifier: "noop", payload: { k } })))),
    process: async (n, seen) => {
      const handled = countdown(n);
      const t = performance.now();
      const runner = await startGraphile(ctx.databaseUrl, schema, config, {
        noop: async (payload) => {
          seen((payload as { k: number }).k);
          handled.tick();
        },
      });
      await handled.done;
      // Batched completion: done when graphile-worker's table no longer holds the jobs.
      await until(async () => (await graphileJobsLeft(ctx.databaseUrl, schema)) === 0);
      const ms = performance.now() - t;
      return { ms, stop: () => stopGraphile(runner) };
    },
    close: async () => {
      await utils.release();
    },
  };
}

async function pgBoss(ctx: BenchContext, schemas: string[]): Promise<Contender> {
  const schema = benchSchema("pgboss_proc");
  schemas.push(schema);
  const boss = await startPgBoss(ctx.databaseUrl, schema, QUEUE);
  let completedBefore = 0;
  return {
    system: "pg-boss",
    note: "pg-boss 10.4.2, 4 workers, batchSize 1000, pollingIntervalSeconds 0.5",
    fill: (from, n) => inBatches(from, n, (ks) => boss.insert(ks.map((k) => ({ name: QUEUE, data: { k } })))),
    process: async (n, seen) => {
      const handled = countdown(n);
      const t = performance.now();
      const ids: string[] = [];
      for (let w = 0; w < 4; w++)
        ids.push(
          await boss.work<{ k: number }>(
            QUEUE,
            { batchSize: 1000, pollingIntervalSeconds: 0.5 },
            async (batch) => {
              for (const job of batch) {
                seen(job.data.k);
                handled.tick();
              }
            },
          ),
        );
      await handled.done;
      const target = completedBefore + n;
      await until(async () => (await pgBossCount(ctx.databaseUrl, schema, QUEUE, "completed")) === target);
      completedBefore = target;
      const ms = performance.now() - t;
      return {
        ms,
        stop: async () => {
          for (const id of ids) await boss.offWork({ id });
        },
      };
    },
    close: () => stopPgBoss(boss),
  };
}

function bullmq(redisUrl: string, prefix: string, concurrency: number): Contender {
  const name = `${QUEUE}-${concurrency}`;
  const queue = bullQueue(redisUrl, prefix, name);
  return {
    system: "bullmq",
    note: `BullMQ 6.7.0, concurrency ${concurrency}, completed jobs kept (default)`,
    fill: (from, n) =>
      inBatches(from, n, (ks) => queue.addBulk(ks.map((k) => ({ name: "noop", data: { k } })))),
    process: async (n, seen) => {
      // 'completed' fires after the job was moved to the completed set.
      const finished = countdown(n);
      const t = performance.now();
      const worker = bullWorker(redisUrl, prefix, name, concurrency, async (job) => {
        seen((job.data as { k: number }).k);
      });
      worker.on("completed", () => finished.tick());
      await finished.done;
      const ms = performance.now() - t;
      return { ms, stop: () => worker.close() };
    },
    close: () => queue.close(),
  };
}
