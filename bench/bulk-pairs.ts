/**
 * Bulk enqueue of two builds of the engine, alternated: for each pair, a fresh schema per build,
 * a warm-up batch, then the best of two rounds of 20 `enqueueMany` calls of 1,000 jobs (the
 * enqueue scenario's bulk step). Prints each build's rounds in jobs/s (decision 078).
 * Usage: node --import tsx bench/bulk-pairs.ts <engine dist/index.js A> <engine dist/index.js B> [pairs=6]
 */
import pg from "pg";
import { enqueueNoops } from "./lib/fill.js";

interface Build {
  Engine: typeof import("../packages/engine/src/index.js").Engine;
}

const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const [a, b, pairs = "6"] = process.argv.slice(2);
if (!a || !b) throw new Error("usage: bulk-pairs.ts <engine dist A> <engine dist B> [pairs]");
const builds: [string, Build][] = [
  [a, (await import(a)) as Build],
  [b, (await import(b)) as Build],
];
const rates = new Map<string, number[]>(builds.map(([name]) => [name, []]));
const admin = new pg.Client({ connectionString: url });
await admin.connect();
try {
  for (let pair = 0; pair < Number(pairs); pair++) {
    for (const [name, build] of pair % 2 === 0 ? builds : [...builds].reverse()) {
      const schema = `bench_bulk_pairs_${process.pid}_${pair}_${builds.findIndex(([n]) => n === name)}`;
      const engine = await build.Engine.connect({
        connectionString: url,
        schema,
        poolSize: 10,
        migrate: true,
      });
      try {
        await enqueueNoops(engine, 1_000);
        let best = 0;
        for (let round = 0; round < 2; round++) {
          const started = performance.now();
          // 20 enqueueMany calls of 1,000 jobs.
          await enqueueNoops(engine, 20_000);
          best = Math.max(best, 20_000 / ((performance.now() - started) / 1000));
        }
        rates.get(name)?.push(Math.round(best));
      } finally {
        await engine.close();
        await admin.query(`drop schema if exists "${schema}" cascade`);
      }
    }
  }
} finally {
  await admin.end();
}
for (const [name, list] of rates) console.log(JSON.stringify({ build: name, jobsPerSec: list }));
