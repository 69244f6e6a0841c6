/**
 * A quick look at the engine's own throughput (not the peer comparison of the benchmark
 * issue): enqueue N no-op jobs in batches of 1,000, then process them with one worker.
 * Usage: node --import tsx bench/quick-throughput.ts [jobs=20000] [concurrency=50]
 */
import { createWorker, Engine } from "../packages/engine/src/index.js";
import { enqueueNoops } from "./lib/fill.js";
import { machineCpu } from "./lib/keel-process.js";

const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const jobs = Number(process.argv[2] ?? 20_000);
const concurrency = Number(process.argv[3] ?? 50);
const schema = `bench_${process.pid}`;
const engine = await Engine.connect({ connectionString: url, schema, poolSize: 20, migrate: true });
try {
  let t = performance.now();
  await enqueueNoops(engine, jobs);
  const enqueueS = (performance.now() - t) / 1000;
  if (process.env.ANALYZE) await engine.pool.query(`analyze "${schema}".jobs`);
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => {
    finish = r;
  });
  const worker = createWorker({
    engine,
    queues: ["bench"],
    concurrency,
    maintenance: false,
    handlers: { noop: () => {} },
    hooks: {
      onJobEnd: () => {
        if (++done === jobs) finish();
      },
    },
  });
  t = performance.now();
  const cpu = process.cpuUsage();
  const machine = machineCpu();
  await worker.start();
  await finished;
  const processS = (performance.now() - t) / 1000;
  const used = process.cpuUsage(cpu);
  const machineUs = (machineCpu().busy - machine.busy) * 10_000; // jiffies of 10 ms
  await worker.stop();
  console.log(
    JSON.stringify({
      jobs,
      concurrency,
      enqueuePerSec: Math.round(jobs / enqueueS),
      processPerSec: Math.round(jobs / processS),
      // This process (the worker) while processing, per job: user + system µs.
      workerCpuUsPerJob: Math.round(((used.user + used.system) / jobs) * 10) / 10,
      // Every other process on the machine meanwhile (Postgres, mostly), per job.
      otherCpuUsPerJob: Math.round(((machineUs - used.user - used.system) / jobs) * 10) / 10,
    }),
  );
} finally {
  await engine.pool.query(`drop schema "${schema}" cascade`);
  await engine.close();
}
