/**
 * What the driver costs per job without a worker: claim 200 jobs, complete them, again, until
 * the queue is empty, one statement at a time. Prints this process's CPU per job (the driver:
 * sending, reading and parsing) and the rest of the machine's (Postgres, mostly) (decision 072).
 * Usage: node --import tsx bench/claim-loop.ts [jobs=40000]
 */
import { Engine } from "../packages/engine/src/index.js";
import { machineCpu } from "./lib/keel-process.js";

const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const jobs = Number(process.argv[2] ?? 40_000);
const schema = `bench_loop_${process.pid}`;
const engine = await Engine.connect({ connectionString: url, schema, poolSize: 4, migrate: true });
try {
  for (let i = 0; i < jobs; i += 1000)
    await engine.enqueueMany(
      Array.from({ length: Math.min(1000, jobs - i) }, (_, k) => ({
        queue: "bench",
        target: { handler: "noop" },
        payload: { k },
      })),
    );
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
  console.log(
    JSON.stringify({
      jobs: n,
      jobsPerSec: Math.round(n / ((performance.now() - started) / 1000)),
      clientCpuUsPerJob: Math.round((own / n) * 10) / 10,
      otherCpuUsPerJob: Math.round(((machineUs - own) / n) * 10) / 10,
    }),
  );
} finally {
  await engine.pool.query(`drop schema "${schema}" cascade`);
  await engine.close();
}
