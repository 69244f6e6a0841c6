/**
 * Flow control overhead (issue 17): the same no-op jobs processed by one Keel worker, once on a
 * plain queue and once on a queue with a flow key over 1,000 distinct keys (concurrency 10 per
 * key, high enough never to be what limits: the figure is the cost of the limited claim, its key
 * walk and turns). Each run enqueues in bulk (not timed), then times the worker from its start to
 * the last completion. Target: with flow keys at least 80% of without.
 */
import { createWorker, Engine } from "../../packages/engine/src/index.js";
import { benchSchema, dropSchemas } from "../lib/postgres.js";
import type { BenchContext, ResultRow, Scenario } from "../lib/scenario.js";
import { perSecond } from "../lib/stats.js";

const KEYS = 1_000;
const CONCURRENCY = 100;

async function run(ctx: BenchContext, schema: string, jobs: number, flow: boolean): Promise<number> {
  const engine = await Engine.connect({
    connectionString: ctx.databaseUrl,
    schema,
    poolSize: 20,
    migrate: true,
  });
  try {
    if (flow) await engine.upsertQueue("bench", { flow: { key: "payload.account", concurrency: 10 } });
    for (let i = 0; i < jobs; i += 1_000) {
      await engine.enqueueMany(
        Array.from({ length: Math.min(1_000, jobs - i) }, (_, j) => ({
          queue: "bench",
          target: { handler: "noop" },
          payload: { k: i + j, account: `acct-${(i + j) % KEYS}` },
        })),
      );
    }
    let left = jobs;
    let done!: () => void;
    const finished = new Promise<void>((r) => {
      done = r;
    });
    const worker = createWorker({
      engine,
      queues: ["bench"],
      concurrency: CONCURRENCY,
      maintenance: false,
      handlers: { noop: () => {} },
      hooks: {
        onJobEnd: (_job, r) => {
          if (r.outcome !== "succeeded") throw new Error(`job ended ${r.outcome}`);
          if (--left === 0) done();
        },
      },
    });
    const t = performance.now();
    await worker.start();
    await finished;
    const ms = performance.now() - t;
    await worker.stop();
    return perSecond(jobs, ms);
  } finally {
    await engine.close();
  }
}

export const flowScenario: Scenario = {
  name: "flow",
  title: "Flow control: processing with flow keys (1,000 keys) against without",
  target: "with flow keys ≥ 80% of the throughput without",
  async run(ctx: BenchContext): Promise<ResultRow[]> {
    const jobs = ctx.smoke ? 500 : 20_000;
    const schemas = [benchSchema("keel_flow_off"), benchSchema("keel_flow_on")];
    try {
      ctx.log(`keel without flow keys: ${jobs} jobs`);
      const off = await run(ctx, schemas[0] as string, jobs, false);
      ctx.log(`keel with flow keys (${KEYS} keys): ${jobs} jobs`);
      const on = await run(ctx, schemas[1] as string, jobs, true);
      const note = `${jobs} no-op jobs, one worker, concurrency ${CONCURRENCY}`;
      return [
        {
          scenario: "flow",
          system: "keel",
          metric: "processed, no flow keys",
          value: off,
          unit: "jobs/s",
          note,
        },
        {
          scenario: "flow",
          system: "keel",
          metric: `processed, flow keys (${KEYS} keys, concurrency 10 each)`,
          value: on,
          unit: "jobs/s",
          note,
        },
        {
          scenario: "flow",
          system: "keel",
          metric: "ratio with / without",
          value: on / off,
          unit: "x",
          note: "target ≥ 0.8",
        },
      ];
    } finally {
      await dropSchemas(ctx.databaseUrl, schemas);
    }
  },
};
