/**
 * The terminal job transition alone (decision 034): enqueue N no-op jobs, claim them, then
 * complete them one statement per job (the worst case for per-call overhead) and in batches
 * of 50 (what the worker's completer sends under load). Prints jobs per second for each.
 * Usage: node --import tsx bench/terminal-transition.ts [jobs=5000]
 */
import { randomUUID } from "node:crypto";
import { Engine } from "../packages/engine/src/index.js";

const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const jobs = Number(process.argv[2] ?? 5_000);
const schema = `bench_tt_${process.pid}`;
const engine = await Engine.connect({ connectionString: url, schema, poolSize: 4 });

async function claimed(n: number) {
  for (let i = 0; i < n; i += 1000) {
    await engine.enqueueMany(
      Array.from({ length: Math.min(1000, n - i) }, () => ({ queue: "tt", target: { handler: "noop" } })),
    );
  }
  const out = [];
  while (out.length < n) {
    const got = await engine.claim({
      queue: "tt",
      handlers: ["noop"],
      limit: 1000,
      leaseMs: 600_000,
      workerId: randomUUID(),
      limited: false,
    });
    if (got.length === 0) break;
    out.push(...got);
  }
  return out;
}

try {
  const result: Record<string, number> = { jobs };
  for (const batch of [1, 50]) {
    const list = await claimed(jobs);
    const t = performance.now();
    for (let i = 0; i < list.length; i += batch) {
      await engine.complete(list.slice(i, i + batch).map((j) => ({ id: j.id, leaseToken: j.leaseToken })));
    }
    result[`completePerSec_batch${batch}`] = Math.round(list.length / ((performance.now() - t) / 1000));
  }
  console.log(JSON.stringify(result));
} finally {
  await engine.pool.query(`drop schema "${schema}" cascade`);
  await engine.close();
}
