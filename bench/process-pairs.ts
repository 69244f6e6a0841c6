/**
 * Cold processing rounds of two builds of the engine, alternated: for each pair and build, a
 * fresh schema filled by one process and processed by a fresh one (`bench/peers/process.mjs`,
 * as the process scenario's cold round runs Keel). With `warm` > 0, warm rounds instead, as the
 * scenario's warm round: the process first fills and runs `warm` jobs, then fills and measures
 * `jobs`. Prints each round's time, jobs/s, the worker's CPU and the rest of the machine's, per
 * job, then each build's medians. How the sessions compare two builds of the claim, completion
 * and worker paths (BENCHMARKS.md).
 * Usage: node --import tsx bench/process-pairs.ts <engine dist/index.js A> <engine dist/index.js B>
 *          [pairs=4] [concurrency=500] [jobs=20000] [warm=0]
 */

import { resolve } from "node:path";
import { type KeelRound, runKeelRound } from "./lib/keel-rounds.js";
import { dropSchemas } from "./lib/postgres.js";
import { medianBy, perSecond } from "./lib/stats.js";

interface Round {
  ms: number;
  firstMs: number;
  walBytes: number;
  selfCpuMs: number;
  otherCpuMs: number;
}

const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const [builtA, builtB, pairs = "4", concurrency = "500", jobs = "20000", warm = "0"] = process.argv.slice(2);
if (!builtA || !builtB)
  throw new Error(
    "usage: process-pairs.ts <engine dist A> <engine dist B> [pairs] [concurrency] [jobs] [warm]",
  );
// The rounds run in bench/peers: a path given relative to where this was started is made absolute.
const [a, b] = [resolve(builtA), resolve(builtB)];
const n = Number(jobs);
const rounds = new Map<string, Round[]>([
  [a, []],
  [b, []],
]);
const log = (m: string) => process.stderr.write(`${m}\n`);
const perJob = (ms: number) => ((ms * 1000) / n).toFixed(1);

for (let pair = 0; pair < Number(pairs); pair++) {
  for (const build of pair % 2 === 0 ? [a, b] : [b, a]) {
    const schema = `bench_process_pairs_${process.pid}_${pair}_${build === a ? "a" : "b"}`;
    const round: KeelRound = {
      build,
      databaseUrl: url,
      schema,
      concurrency: Number(concurrency),
      jobs: n,
      warm: Number(warm),
    };
    const run = (mode: "fill" | "process") => runKeelRound(round, mode, log).result;
    try {
      if (Number(warm) === 0) await run("fill");
      const result = (await run("process")) as Round;
      rounds.get(build)?.push(result);
      console.log(
        `pair ${pair + 1} ${build === a ? "A" : "B"}: ${result.ms.toFixed(0)} ms, ${Math.round(perSecond(n, result.ms))} jobs/s, worker ${perJob(result.selfCpuMs)} µs a job, the rest ${perJob(result.otherCpuMs)}`,
      );
    } finally {
      await dropSchemas(url, [schema]);
    }
  }
}
for (const [build, list] of rounds) {
  const median = medianBy(list, (r) => r.ms);
  console.log(
    JSON.stringify({
      build,
      medianJobsPerSec: Math.round(perSecond(n, median.ms)),
      medianWorkerCpuUsPerJob: Number(perJob(medianBy(list, (r) => r.selfCpuMs).selfCpuMs)),
      medianOtherCpuUsPerJob: Number(perJob(medianBy(list, (r) => r.otherCpuMs).otherCpuMs)),
      rounds: list.map((r) => Math.round(perSecond(n, r.ms))),
    }),
  );
}
