/**
 * What the driver costs per job without a worker: claim 200 jobs, complete them, again, until
 * the queue is empty, one statement at a time. Prints this process's CPU per job (the driver:
 * sending, reading and parsing) and the rest of the machine's (Postgres, mostly) (decision 072).
 * BENCH_HOT_CLAIM=1 measures what a claim that writes no index entry would save: before the loop
 * it drops `jobs_running_flow` and rebuilds `jobs_ready_flow` without its `state` predicate
 * (`jobs_lease` is gone since migration 0028, decision 087), so that no index covers a column
 * the claim changes and Postgres can update the row in place (a HOT update). Not a schema Keel
 * could run on (claims of flow queues count running jobs by that index),
 * only the measurement (BENCHMARKS.md, "Measured in the tenth session"). It prints the share of
 * the loop's updates that were HOT, of those Postgres had counted.
 * Usage: node --import tsx bench/claim-loop.ts [jobs=40000]
 */
import { Engine } from "../packages/engine/src/index.js";
import { enqueueNoops } from "./lib/fill.js";
import { machineCpu } from "./lib/keel-process.js";

const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const jobs = Number(process.argv[2] ?? 40_000);
const schema = `bench_loop_${process.pid}`;
const engine = await Engine.connect({ connectionString: url, schema, poolSize: 4, migrate: true });
try {
  await enqueueNoops(engine, jobs);
  const S = `"${schema}"`;
  if (process.env.BENCH_HOT_CLAIM === "1")
    await engine.pool.query(
      `drop index ${S}.jobs_running_flow; drop index ${S}.jobs_ready_flow;
       create index jobs_ready_flow on ${S}.jobs (queue, flow_key, priority desc, run_at, id); analyze ${S}.jobs`,
    );
  const updates = async () =>
    (
      await engine.pool.query<{ all: number; hot: number }>(
        "select n_tup_upd::int as all, n_tup_hot_upd::int as hot from pg_stat_user_tables where schemaname = $1 and relname = 'jobs'",
        [schema],
      )
    ).rows[0] as { all: number; hot: number };
  const before = await updates();
  const machine = machineCpu();
  const cpu = process.cpuUsage();
  const started = performance.now();
  let n = 0;
  for (;;) {
    const claimed = await engine.claim({
      queue: "bench",
      handlers: ["noop"],
      limit: 200,
      leaseMs: 30_000,
      workerId: "loop",
      limited: false,
    });
    if (claimed.length === 0) break;
    await engine.complete(claimed.map((j) => ({ id: j.id, leaseToken: j.leaseToken })));
    n += claimed.length;
  }
  const used = process.cpuUsage(cpu);
  const own = used.user + used.system;
  const machineUs = (machineCpu().busy - machine.busy) * 10_000; // jiffies of 10 ms
  // Each backend reports its counts when its transaction ends, at most twice a second.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const after = await updates();
  console.log(
    JSON.stringify({
      jobs: n,
      jobsPerSec: Math.round(n / ((performance.now() - started) / 1000)),
      clientCpuUsPerJob: Math.round((own / n) * 10) / 10,
      otherCpuUsPerJob: Math.round(((machineUs - own) / n) * 10) / 10,
      // A share: backends that went idle may not have reported all of theirs yet.
      hotShareOfUpdatesCounted: `${Math.round((100 * (after.hot - before.hot)) / Math.max(1, after.all - before.all))}% of ${after.all - before.all}`,
    }),
  );
} finally {
  await engine.pool.query(`drop schema "${schema}" cascade`);
  await engine.close();
}
