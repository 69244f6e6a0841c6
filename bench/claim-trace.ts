/**
 * A cold processing round with the worker's claims and completions timed: fills a queue in this
 * process, closes that engine, then a new engine and worker process the jobs, and prints each
 * claim's and completion's start (ms after the worker started), duration and size, and their
 * totals (BENCHMARKS.md, "Measured in the ninth session").
 * Usage: node --import tsx bench/claim-trace.ts [jobs=20000] [concurrency=500]
 */
import { createWorker, Engine, type EngineOptions } from "../packages/engine/src/index.js";
import { enqueueNoops } from "./lib/fill.js";

const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const [jobs = 20_000, concurrency = 500] = process.argv.slice(2).map(Number);
const schema = `bench_trace_${process.pid}`;
const options: EngineOptions = { connectionString: url, schema, poolSize: 20, migrate: true };
const filler = await Engine.connect(options);
await enqueueNoops(filler, jobs);
await filler.close();

const engine = await Engine.connect(options);
type Step = { step: "claim" | "complete"; at: number; ms: number; jobs: number };
const steps: Step[] = [];
let t0 = 0;
const claim = engine.claim.bind(engine);
engine.claim = async (o) => {
  const at = performance.now();
  const got = await claim(o);
  steps.push({ step: "claim", at: at - t0, ms: performance.now() - at, jobs: got.length });
  return got;
};
const complete = engine.complete.bind(engine);
engine.complete = async (finished) => {
  const at = performance.now();
  const stale = await complete(finished);
  steps.push({ step: "complete", at: at - t0, ms: performance.now() - at, jobs: finished.length });
  return stale;
};
try {
  let left = jobs;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const worker = createWorker({
    engine,
    queues: ["bench"],
    concurrency,
    maintenance: false,
    handlers: { noop: () => {} },
    hooks: {
      onJobEnd: () => {
        if (--left === 0) done();
      },
    },
  });
  t0 = performance.now();
  await worker.start();
  await finished;
  const ms = performance.now() - t0;
  await worker.stop();
  for (const s of steps.sort((a, b) => a.at - b.at))
    console.log(
      `${s.step.padEnd(8)} at ${s.at.toFixed(1).padStart(7)} ms, ${s.ms.toFixed(1).padStart(5)} ms, ${s.jobs} jobs`,
    );
  for (const step of ["claim", "complete"] as const) {
    const of = steps.filter((s) => s.step === step);
    const total = of.reduce((sum, s) => sum + s.ms, 0);
    console.log(`${step}: ${of.length} statements, ${total.toFixed(0)} ms in all`);
  }
  console.log(
    `${jobs} jobs in ${ms.toFixed(0)} ms: ${Math.round(jobs / (ms / 1000))} jobs/s; pool connections ${engine.pool.totalCount}`,
  );
} finally {
  await engine.pool.query(`drop schema "${schema}" cascade`);
  await engine.close();
}
