/**
 * Where a cold processing round's Postgres time goes: fills a schema and processes it in fresh
 * processes (`bench/peers/process.mjs`, as the process scenario's cold round runs Keel) while
 * this process samples `pg_stat_activity` back to back on a connection of its own. Prints, per
 * statement of the worker (claim, completion), how many samples found it on CPU, waiting (by
 * wait event) or its connection idle between statements, then the round's own figures. The
 * sampler takes a share of the two cores, so the round runs slower than unobserved; compare
 * shares, not times (BENCHMARKS.md, "Measured in the fourteenth session").
 * Usage: node --import tsx bench/round-waits.ts [engine dist/index.js] [concurrency=500] [jobs=20000]
 */

import { resolve } from "node:path";
import pg from "pg";
import { type KeelRound, runKeelRound } from "./lib/keel-rounds.js";
import { dropSchemas } from "./lib/postgres.js";

const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const [built = "packages/engine/dist/index.js", concurrency = "500", jobs = "20000"] = process.argv.slice(2);
const schema = `bench_round_waits_${process.pid}`;
const round: KeelRound = {
  build: resolve(built),
  databaseUrl: url,
  schema,
  concurrency: Number(concurrency),
  jobs: Number(jobs),
  warm: 0,
};
const log = (m: string) => process.stderr.write(`${m}\n`);
const run = (mode: "fill" | "process") => runKeelRound(round, mode, log);

/**
 * The worker's statement a sample shows, by the comment each statement's text opens with
 * (`pg_stat_activity` keeps only the first kilobyte of a text).
 */
function statementOf(query: string): string {
  if (/^-- claim(_after)?:/.test(query)) return "claim";
  if (query.startsWith("-- complete:")) return "complete";
  return "other";
}

const sampler = new pg.Client({ connectionString: url, application_name: "bench-round-waits" });
await sampler.connect();
try {
  await run("fill").result;
  const counts = new Map<string, number>();
  let polls = 0;
  let done = false;
  const round = run("process").result.finally(() => {
    done = true;
  });
  while (!done) {
    const { rows } = await sampler.query<{ state: string; wait: string | null; query: string }>(
      `select state, wait_event_type || ':' || wait_event as wait, query from pg_stat_activity
       where datname = current_database() and backend_type = 'client backend'
         and application_name = 'keel' and pid <> pg_backend_pid()`,
    );
    polls++;
    for (const r of rows) {
      const key = `${statementOf(r.query)} ${r.state === "active" ? (r.wait ?? "on CPU") : `connection ${r.state}`}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  const result = (await round) as { ms: number; firstMs: number };
  console.log(
    `${polls} samples over a round of ${result.ms.toFixed(0)} ms (first job after ${result.firstMs.toFixed(0)} ms)`,
  );
  for (const [key, n] of [...counts].sort((x, y) => x[0].localeCompare(y[0])))
    console.log(`${String(n).padStart(6)}  ${key}`);
} finally {
  await sampler.end();
  await dropSchemas(url, [schema]);
}
