import { createScheduler, createWorker, Engine, type FireEvent } from "@keel/engine";
import { benchSchema, dropSchemas } from "../lib/postgres.js";
import type { BenchContext, ResultRow, Scenario } from "../lib/scenario.js";
import { percentile, perSecond, sleep } from "../lib/stats.js";

/**
 * Scenario 8: cron fire lateness while the queue is under load.
 *
 * One engine plays `keel start` (role all: its worker and its scheduler share the engine's
 * pool, scheduler with default options and the database clock); a second engine plays the
 * application, enqueueing no-op jobs in bulk as fast as the worker drains them (backlog kept
 * near `backlog`). Twenty schedules fire every second (`* * * * * *`) onto their own queue.
 *
 * Lateness of a slot is the scheduler's own figure (`onFire` → `latenessSeconds`: the database
 * clock at the deciding transaction minus the slot's time). Also reported: the lateness of the
 * handler's start (the job actually running), which includes the worker's pickup under load.
 * Checked afterwards in the database: every schedule's slots are contiguous over the run (no
 * slot missing), each slot has exactly one run row and exactly one job, and each job ran once.
 */
interface Sizes {
  schedules: number;
  seconds: number;
  warmupSeconds: number;
  batch: number;
  backlog: number;
  concurrency: number;
}

const FULL: Sizes = {
  schedules: 20,
  seconds: 60,
  warmupSeconds: 3,
  batch: 500,
  backlog: 5_000,
  concurrency: 50,
};
const SMOKE: Sizes = {
  schedules: 20,
  seconds: 3,
  warmupSeconds: 0.5,
  batch: 100,
  backlog: 500,
  concurrency: 10,
};

async function run(ctx: BenchContext): Promise<ResultRow[]> {
  const s = ctx.smoke ? SMOKE : FULL;
  const schema = benchSchema("cron");
  const keel = await Engine.connect({
    connectionString: ctx.databaseUrl,
    schema,
    applicationName: "bench-keel",
    migrate: true,
  });
  let app: Engine | undefined;
  let producing = true;
  let producer: Promise<void> = Promise.resolve();
  let worker: ReturnType<typeof createWorker> | undefined;
  let scheduler: ReturnType<typeof createScheduler> | undefined;
  try {
    app = await Engine.connect({ connectionString: ctx.databaseUrl, schema, applicationName: "bench-app" });
    await keel.ensureQueues(["load", "cron"]);

    let enqueued = 0;
    let processed = 0;
    /** Executions of each slot's job, by `schedule fireTime`. */
    const executions = new Map<string, number>();
    const runLatenessMs: number[] = [];
    worker = createWorker({
      engine: keel,
      queues: ["load", "cron"],
      concurrency: s.concurrency,
      handlers: {
        noop: () => {
          processed++;
        },
        tick: (job) => {
          const origin = job.job.origin;
          const fireTime = origin?.fireTime ? Date.parse(origin.fireTime) : Number.NaN;
          runLatenessMs.push(Date.now() - fireTime);
          const slot = `${origin?.schedule} ${origin?.fireTime}`;
          executions.set(slot, (executions.get(slot) ?? 0) + 1);
        },
      },
    });
    await worker.start();

    // The application: bulk enqueues, keeping the backlog near `backlog` so the worker never idles.
    const appEngine = app;
    const payload = { n: 1 };
    producer = (async () => {
      while (producing) {
        if (enqueued - processed >= s.backlog) {
          await sleep(5);
          continue;
        }
        const jobs = Array.from({ length: s.batch }, () => ({
          queue: "load",
          target: { handler: "noop" },
          payload,
        }));
        await appEngine.enqueueMany(jobs);
        enqueued += s.batch;
      }
    })();
    await sleep(s.warmupSeconds * 1000);

    const names = Array.from({ length: s.schedules }, (_, i) => `every-second-${i}`);
    for (const name of names) {
      await keel.schedules.upsert(name, { cron: "* * * * * *", queue: "cron", target: { handler: "tick" } });
    }
    const events: FireEvent[] = [];
    const errors: unknown[] = [];
    const processedAtStart = processed;
    const start = performance.now();
    scheduler = createScheduler({
      engine: keel,
      hooks: { onFire: (e) => events.push(e), onError: (err) => errors.push(err) },
    });
    await sleep(s.seconds * 1000);
    await scheduler.stop();
    scheduler = undefined;
    const loadMs = performance.now() - start;
    const loadJobs = processed - processedAtStart;
    producing = false;
    await producer;

    // Every slot's job runs before the worker stops (the load queue may keep a backlog).
    const [{ slots } = { slots: 0 }] = (
      await keel.pool.query<{ slots: number }>(
        `select count(*)::int as slots from "${schema}".schedule_runs where outcome = 'enqueued'`,
      )
    ).rows;
    const deadline = Date.now() + 30_000;
    while ([...executions.values()].reduce((a, b) => a + b, 0) < slots && Date.now() < deadline) {
      await sleep(20);
    }
    await worker.stop();
    worker = undefined;

    const problems = await verify(keel, schema, names, executions, s.seconds);
    if (errors.length > 0) problems.push(`scheduler errors: ${errors.map(String).join("; ")}`);
    const cron = events.filter((e) => e.kind === "cron" && e.outcome === "enqueued");
    if (cron.length !== slots) problems.push(`${cron.length} cron fire events but ${slots} enqueued runs`);
    if (problems.length > 0) throw new Error(`cron correctness failed: ${problems.join("; ")}`);

    const lateness = cron.map((e) => (e.latenessSeconds ?? Number.NaN) * 1000);
    const system = "Keel createScheduler (defaults)";
    const note = `${s.schedules} schedules '* * * * * *' for ${s.seconds} s (real DB clock, default options); worker concurrency ${s.concurrency} shares the engine pool with the scheduler; a second engine enqueues no-op jobs in batches of ${s.batch} keeping ~${s.backlog} ready; exactly one job per slot and no missing slot verified`;
    const base = { scenario: "cron", system };
    return [
      { ...base, metric: "slots fired", value: cron.length, unit: "slots", note },
      { ...base, metric: "fire lateness p50", value: percentile(lateness, 50), unit: "ms" },
      {
        ...base,
        metric: "fire lateness p99",
        value: percentile(lateness, 99),
        unit: "ms",
        note: "target < 1000 ms; slot time → deciding transaction (database clock)",
      },
      { ...base, metric: "fire lateness max", value: Math.max(...lateness), unit: "ms" },
      {
        ...base,
        metric: "run lateness p99",
        value: percentile(runLatenessMs, 99),
        unit: "ms",
        note: "slot time → handler start (includes the worker's pickup under load)",
      },
      {
        ...base,
        metric: "background load",
        value: perSecond(loadJobs, loadMs),
        unit: "jobs/s",
        note: `${loadJobs} no-op jobs processed during the window`,
      },
    ];
  } finally {
    producing = false;
    await producer.catch(() => {});
    await scheduler?.stop();
    await worker?.stop();
    await app?.close();
    await keel.close();
    await dropSchemas(ctx.databaseUrl, [schema]);
  }
}

/** Everything wrong with the slots in the database; empty when each slot made exactly one job. */
async function verify(
  engine: Engine,
  schema: string,
  names: string[],
  executions: Map<string, number>,
  seconds: number,
): Promise<string[]> {
  const problems: string[] = [];
  const { rows } = await engine.pool.query<{
    schedule: string;
    fire_times: Date[];
    outcomes: string[];
    job_ids: (string | null)[];
  }>(
    `select schedule, array_agg(fire_time order by fire_time) as fire_times,
            array_agg(outcome order by fire_time) as outcomes, array_agg(job_id order by fire_time) as job_ids
     from "${schema}".schedule_runs group by schedule`,
  );
  const { rows: jobs } = await engine.pool.query<{ slot: string; n: number }>(
    `select (origin ->> 'schedule') || ' ' || (origin ->> 'fireTime') as slot, count(*)::int as n
     from (select origin from "${schema}".jobs where origin ? 'schedule'
           union all select origin from "${schema}".job_history where origin ? 'schedule') j
     group by 1`,
  );
  const jobsPerSlot = new Map(jobs.map((j) => [j.slot, j.n]));
  const allJobIds = new Set<string>();
  let runs = 0;
  for (const name of names) {
    const r = rows.find((x) => x.schedule === name);
    if (!r) {
      problems.push(`${name}: no slot fired`);
      continue;
    }
    // The first slot may fall just after the window opened, the last just before it closed.
    if (r.fire_times.length < seconds - 2)
      problems.push(`${name}: ${r.fire_times.length} slots in ${seconds} s`);
    r.fire_times.forEach((t, i) => {
      runs++;
      const prev = r.fire_times[i - 1];
      if (prev && t.getTime() - prev.getTime() !== 1000) {
        problems.push(`${name}: slots missing between ${prev.toISOString()} and ${t.toISOString()}`);
      }
      if (r.outcomes[i] !== "enqueued") problems.push(`${name} ${t.toISOString()}: ${r.outcomes[i]}`);
      const id = r.job_ids[i];
      if (id === null || id === undefined) problems.push(`${name} ${t.toISOString()}: no job`);
      else if (allJobIds.has(id)) problems.push(`job ${id} recorded for two slots`);
      else allJobIds.add(id);
      const slot = `${name} ${t.toISOString()}`;
      if (jobsPerSlot.get(slot) !== 1) problems.push(`${slot}: ${jobsPerSlot.get(slot) ?? 0} jobs`);
      if (executions.get(slot) !== 1) problems.push(`${slot}: ran ${executions.get(slot) ?? 0} times`);
    });
  }
  if (jobsPerSlot.size !== runs) problems.push(`${jobsPerSlot.size} slots with jobs but ${runs} runs`);
  if (executions.size !== runs) problems.push(`${executions.size} slots ran but ${runs} runs`);
  return problems.slice(0, 10);
}

export const cron: Scenario = {
  name: "cron",
  title: "8. Cron fire lateness under queue load",
  target: "fire lateness p99 < 1 s while the queue is under load",
  run,
};
