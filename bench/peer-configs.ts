/**
 * Cold processing rounds of one system in several configurations, alternated: for each round and
 * configuration, a fresh schema (or BullMQ prefix) filled by one process and processed by a fresh
 * one (`bench/peers/process.mjs` on the latest peers' Node 22, as the process scenario runs
 * them). Prints each round's jobs/s, then each configuration's median. How graphile-worker's and
 * BullMQ's best configurations were found (decision 084), and what Keel's `claimAhead` is worth
 * (decision 085; Keel runs its built engine, packages/engine/dist, on the same Node).
 * Usage: node --import tsx bench/peer-configs.ts <keel|graphile|bullmq> '<json array of configs>' [rounds=4] [jobs=20000]
 *   e.g. bench/peer-configs.ts graphile '[{"best":true,"localQueue":500,"concurrency":50},{"best":true,"localQueue":1000,"concurrency":50}]'
 */
import { fileURLToPath } from "node:url";
import { runOnPeersNode } from "./lib/peers-latest.js";
import { bullPrefix, dropBullPrefix } from "./lib/peers-queue.js";
import { benchSchema, dropSchemas } from "./lib/postgres.js";
import { medianBy, perSecond } from "./lib/stats.js";

const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const [system, configsJson, roundsArg = "4", jobsArg = "20000"] = process.argv.slice(2);
if ((system !== "keel" && system !== "graphile" && system !== "bullmq") || !configsJson)
  throw new Error("usage: peer-configs.ts <keel|graphile|bullmq> '<json array of configs>' [rounds] [jobs]");
const modules =
  system === "keel" ? fileURLToPath(new URL("../packages/engine/dist/index.js", import.meta.url)) : undefined;
const configs = JSON.parse(configsJson) as Record<string, unknown>[];
const n = Number(jobsArg);
const rates: number[][] = configs.map(() => []);
const log = (m: string) => process.stderr.write(`${m}\n`);

for (let round = 0; round < Number(roundsArg); round++)
  for (let j = 0; j < configs.length; j++) {
    // Alternated: every other round runs the configurations in reverse order.
    const i = round % 2 === 0 ? j : configs.length - 1 - j;
    const schema = system === "bullmq" ? bullPrefix() : benchSchema(`peer_cfg_${system}`);
    const args = {
      system,
      config: configs[i],
      databaseUrl: url,
      redisUrl,
      schema,
      queue: "bench",
      from: 0,
      n,
      warm: 0,
      modules,
    };
    const run = (mode: string) =>
      runOnPeersNode("process.mjs", [JSON.stringify({ ...args, mode })], log).result;
    try {
      await run("fill");
      const { ms } = (await run("process")) as { ms: number };
      rates[i]?.push(Math.round(perSecond(n, ms)));
      console.log(`round ${round + 1} ${JSON.stringify(configs[i])}: ${Math.round(perSecond(n, ms))} jobs/s`);
    } finally {
      if (system === "bullmq") await dropBullPrefix(redisUrl, schema);
      else await dropSchemas(url, [schema]);
    }
  }
for (const [i, config] of configs.entries()) {
  const all = rates[i] ?? [];
  console.log(JSON.stringify({ config, medianJobsPerSec: medianBy(all, (x) => x), rounds: all }));
}
