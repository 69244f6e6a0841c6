/**
 * Scenario 2: pull-worker processing of no-op jobs, every system in a process of its own
 * (bench/peers/process.mjs): Keel, the previous peers (graphile-worker 0.17.3, pg-boss 10.4.2,
 * BullMQ 6.7.0) on the project's Node 20, and the latest peers (graphile-worker 0.18, pg-boss 12,
 * BullMQ 6.7.6) on Node 22 from bench/peers. Two rounds per contender, each on a fresh schema:
 *   cold — 20,000 jobs enqueued by one process, then processed by a fresh process with no
 *          warm-up (what a deploy or a scale-up meets);
 *   warm — 50,000 jobs processed by a process that first filled and processed 2,000.
 * The clock runs from the worker's start until the store shows every job durably finished; each
 * job must run exactly once, and Keel must have written a history row per job. WAL bytes, the
 * worker process's CPU and the rest of the machine's are metered per job. Every round runs
 * BENCH_PROCESS_PASSES times (3 by default), all contenders in turn in each pass, and the table
 * gives each one's median round (decision 077). With autovacuum off, the system catalogs are
 * vacuumed before every round (the dropped schemas of the rounds before leave dead rows that
 * every new connection walks).
 *
 * Keel runs on Node 20 at five concurrencies and on the latest peers' Node 22 at its three best;
 * graphile-worker in three tuned configurations (decision 084). Each ratio compares the fastest
 * configuration of Keel with the fastest of a peer on the same Node (graphile-worker 0.18 and
 * BullMQ 6.7.6 need Node 22; V8's newer compilers make a cold worker cheaper there, decision 080).
 *
 * BENCH_KEEL_BASELINE=<path to an engine's dist/index.js> adds that build of Keel (e.g. an
 * earlier commit's, built in a git worktree) as a contender, to show a change in one run.
 */
import { fileURLToPath } from "node:url";
import { costNote } from "../lib/cost.js";
import { LATEST, runOnPeersNode, runScript } from "../lib/peers-latest.js";
import { bullPrefix, dropBullPrefix } from "../lib/peers-queue.js";
import { benchSchema, dropSchemas, vacuumCatalogsWithoutAutovacuum } from "../lib/postgres.js";
import type { BenchContext, ResultRow, Scenario } from "../lib/scenario.js";
import { medianBy, perSecond } from "../lib/stats.js";

const QUEUE = "bench";
/** Keel's claimAhead beside the independent script's concurrency of 200: 500 jobs held, as its graphile-worker's local queue. */
const SCRIPT_CLAIM_AHEAD = 300;
const ROOT_MODULES = fileURLToPath(new URL("../run.ts", import.meta.url));
const KEEL_ENGINE = fileURLToPath(new URL("../../packages/engine/dist/index.js", import.meta.url));

/** One configuration of one system. */
interface Contender {
  system: "keel" | "graphile-worker" | "pg-boss" | "bullmq";
  /** The child's system name in process.mjs. */
  child: "keel" | "graphile" | "pgboss" | "bullmq";
  version: string;
  latest: boolean;
  note: string;
  config: Record<string, unknown>;
}

interface Round {
  name: "cold" | "warm";
  jobs: number;
  warm: number;
}

interface Measured {
  ms: number;
  firstMs: number;
  walBytes: number;
  selfCpuMs: number;
  otherCpuMs: number;
}

export const processScenario: Scenario = {
  name: "process",
  title: "2. Pull-worker processing of no-op jobs (20,000 cold, 50,000 warm), each system in its own process",
  target: "≥ 1.5x graphile-worker (best configuration) and ≥ 2x BullMQ, cold and warm, with history kept",
  async run(ctx: BenchContext): Promise<ResultRow[]> {
    const rounds: Round[] = ctx.smoke
      ? [
          { name: "cold", jobs: 300, warm: 0 },
          { name: "warm", jobs: 300, warm: 100 },
        ]
      : [
          { name: "cold", jobs: 20_000, warm: 0 },
          { name: "warm", jobs: 50_000, warm: 2_000 },
        ];
    const contenders = contendersFor(ctx);
    // Every contender's rounds are measured `passes` times, the systems alternated within each
    // pass, and the median is kept: one slow or fast round (the machine moves 30% between runs)
    // no longer decides a ratio.
    const passes = ctx.smoke ? 1 : Number(process.env.BENCH_PROCESS_PASSES ?? 3);
    const rows: ResultRow[] = [];
    const rate = new Map<string, number>();
    const key = (c: Contender, r: Round) => `${c.system}|${c.version}|${c.latest}|${c.note}|${r.name}`;
    const measured = new Map<string, Measured[]>();
    for (let pass = 1; pass <= passes; pass++)
      for (const round of rounds)
        for (const c of contenders) {
          ctx.log(
            `${c.system} ${c.version} (${c.note}): ${round.name}, ${round.jobs} jobs, pass ${pass}/${passes}`,
          );
          // The schemas of the rounds before were dropped: with autovacuum off, their dead catalog
          // rows would slow every later cold start, the more so the more objects a system's schema
          // has, and the later it comes in the pass. Vacuumed before each round, outside its clock.
          if (!ctx.smoke) await vacuumCatalogsWithoutAutovacuum(ctx.databaseUrl);
          const m = await measure(ctx, c, round);
          measured.set(key(c, round), [...(measured.get(key(c, round)) ?? []), m]);
          ctx.log(`   ${Math.round(perSecond(round.jobs, m.ms))} jobs/s`);
        }
    for (const round of rounds)
      for (const c of contenders) {
        const all = measured.get(key(c, round)) ?? [];
        const m = medianBy(all, (x) => x.ms);
        rate.set(key(c, round), perSecond(round.jobs, m.ms));
        const each = all
          .map((x) => Math.round(perSecond(round.jobs, x.ms)).toLocaleString("en-US"))
          .join(", ");
        rows.push({
          scenario: "process",
          system:
            c.system === "keel"
              ? c.config.baseline
                ? "keel (baseline)"
                : c.latest
                  ? `keel (Node ${LATEST.node.split(".")[0]})`
                  : "keel"
              : `${c.system} ${c.version}`,
          metric: `processed, ${round.name}`,
          value: perSecond(round.jobs, m.ms),
          unit: "jobs/s",
          note: `Node ${c.latest ? LATEST.node : process.versions.node}, ${c.note}; ${round.jobs} jobs${round.warm ? ` after ${round.warm} warm-up` : ", fresh process, no warm-up"}; ${passes > 1 ? `median of ${passes} passes (${each} jobs/s); ` : ""}first job started after ${Math.round(m.firstMs)} ms; ${costNote(m, round.jobs)}`,
        });
      }
    // `latest`: only contenders on the latest peers' Node (true) or the project's (false).
    const best = (system: string, round: Round, latest?: boolean) =>
      Math.max(
        ...contenders
          .filter(
            (c) =>
              c.system === system &&
              (latest === undefined || c.latest === latest) &&
              c.config.best !== false &&
              !c.config.baseline,
          )
          .map((c) => rate.get(key(c, round)) ?? 0),
      );
    // Keel at concurrency 200 alone: the setting of the issue's independent script.
    const keel200 = contenders.find(
      (c) =>
        c.system === "keel" && c.config.concurrency === 200 && !c.config.claimAhead && !c.config.baseline,
    );
    for (const round of rounds) {
      const at200 = keel200 && rate.get(key(keel200, round));
      for (const latest of [false, true]) {
        const ahead = contenders.find(
          (c) => c.system === "keel" && c.latest === latest && c.config.claimAhead === SCRIPT_CLAIM_AHEAD,
        );
        const aheadRate = ahead && rate.get(key(ahead, round));
        // Keel on the same Node as the peer versions it is compared with.
        const keel = best("keel", round, latest);
        const version = (system: string) =>
          contenders.find((c) => c.system === system && c.latest === latest)?.version ?? "";
        rows.push({
          scenario: "process",
          system: "keel",
          metric: `ratio vs graphile-worker ${version("graphile-worker")} (best), ${round.name}`,
          value: keel / best("graphile-worker", round, latest),
          unit: "x",
          note: `target ≥ 1.5; Keel's best concurrency, both on Node ${latest ? LATEST.node : process.versions.node}`,
        });
        // The script's graphile-worker: a local queue of 500, concurrency 50.
        const script = contenders.find(
          (c) => c.system === "graphile-worker" && c.latest === latest && c.config.localQueue === 500,
        );
        const scriptRate = script && rate.get(key(script, round));
        if (at200 !== undefined && scriptRate)
          rows.push({
            scenario: "process",
            system: "keel",
            metric: `ratio vs graphile-worker ${version("graphile-worker")} (local queue 500), ${round.name}, Keel at concurrency 200`,
            value: at200 / scriptRate,
            unit: "x",
            note: "the settings of the issue's independent script on both sides",
          });
        if (aheadRate && scriptRate)
          rows.push({
            scenario: "process",
            system: "keel",
            metric: `ratio vs graphile-worker ${version("graphile-worker")} (local queue 500), ${round.name}, Keel at concurrency 200 with claimAhead ${SCRIPT_CLAIM_AHEAD}`,
            value: aheadRate / scriptRate,
            unit: "x",
            note: `the script's settings, each side holding up to 500 claimed jobs; both on Node ${latest ? LATEST.node : process.versions.node}`,
          });
        if (ctx.redisUrl)
          rows.push({
            scenario: "process",
            system: "keel",
            metric: `ratio vs BullMQ ${version("bullmq")}, ${round.name}`,
            value: keel / best("bullmq", round, latest),
            unit: "x",
            note: `target ≥ 2; both at their best concurrency, on Node ${latest ? LATEST.node : process.versions.node}`,
          });
      }
    }
    return rows;
  },
};

/**
 * One round of one contender on a fresh schema (or BullMQ prefix), dropped after it: `fill` in
 * a process of its own for a cold round, then `process` in a fresh one.
 */
async function measure(ctx: BenchContext, c: Contender, round: Round): Promise<Measured> {
  const schema = c.child === "bullmq" ? bullPrefix() : benchSchema(`proc_${c.child}`);
  const args = {
    system: c.child,
    config: c.config,
    databaseUrl: ctx.databaseUrl,
    redisUrl: ctx.redisUrl,
    schema,
    queue: QUEUE,
    from: 0,
    n: round.jobs,
    warm: round.warm,
    modules:
      c.system === "keel"
        ? ((c.config.modules as string | undefined) ?? KEEL_ENGINE)
        : c.latest
          ? undefined
          : ROOT_MODULES,
  };
  const run = (mode: string) => {
    const argv = [JSON.stringify({ ...args, mode })];
    return (
      c.latest
        ? runOnPeersNode("process.mjs", argv, ctx.log)
        : runScript(process.execPath, "process.mjs", argv, ctx.log)
    ).result;
  };
  try {
    if (round.warm === 0) await run("fill");
    return (await run("process")) as Measured;
  } finally {
    if (c.child === "bullmq") {
      if (ctx.redisUrl) await dropBullPrefix(ctx.redisUrl, schema);
    } else await dropSchemas(ctx.databaseUrl, [schema]);
  }
}

function contendersFor(ctx: BenchContext): Contender[] {
  const list: Contender[] = [];
  const keel = (latest: boolean, concurrency: number, claimAhead = 0): Contender => ({
    system: "keel",
    child: "keel",
    version: "this commit",
    latest,
    note: `createWorker, concurrency ${concurrency}${claimAhead ? `, claimAhead ${claimAhead}` : ""}, pool 20, history kept`,
    config: claimAhead ? { concurrency, claimAhead } : { concurrency },
  });
  for (const concurrency of ctx.smoke ? [50] : [100, 200, 500, 1000, 2000])
    list.push(keel(false, concurrency));
  // The same build on the latest peers' Node 22, at its three best concurrencies.
  for (const concurrency of ctx.smoke ? [50] : [500, 1000, 2000]) list.push(keel(true, concurrency));
  // The independent script's concurrency holding as many jobs as graphile-worker's local queue
  // of 500 there: 200 running and up to 300 claimed ahead (decision 085), on both Nodes.
  if (!ctx.smoke) for (const latest of [false, true]) list.push(keel(latest, 200, SCRIPT_CLAIM_AHEAD));
  const baseline = process.env.BENCH_KEEL_BASELINE;
  if (baseline && !ctx.smoke)
    list.push({
      system: "keel",
      child: "keel",
      version: `baseline (${baseline.replace(/\/packages\/engine\/dist\/index\.js$/, "")})`,
      latest: false,
      note: "createWorker, concurrency 200, pool 20, history kept",
      config: { concurrency: 200, modules: baseline, baseline: true },
    });
  list.push({
    system: "graphile-worker",
    child: "graphile",
    version: "0.17.3",
    latest: false,
    note: "defaults, concurrency 10",
    config: { best: false },
  });
  // Its best configurations: the issue's independent script's (a local queue of 500, batched
  // completion, concurrency 50) and the larger local queues that run faster on this machine
  // (decision 084); its ratios take the fastest.
  for (const [version, latest] of [
    ["0.17.3", false],
    [LATEST.graphileWorker, true],
  ] as const)
    for (const [localQueue, concurrency] of ctx.smoke
      ? [[500, 50]]
      : [
          [500, 50],
          [1000, 50],
          [2000, 200],
        ])
      list.push({
        system: "graphile-worker",
        child: "graphile",
        version,
        latest,
        note: `localQueue.size ${localQueue}, completeJobBatchDelay 0, concurrency ${concurrency}, pool 20`,
        config: { best: true, localQueue, concurrency },
      });
  list.push(
    {
      system: "pg-boss",
      child: "pgboss",
      version: "10.4.2",
      latest: false,
      note: "4 workers, batchSize 1000, pollingIntervalSeconds 0.5",
      config: {},
    },
    {
      system: "pg-boss",
      child: "pgboss",
      version: LATEST.pgBoss,
      latest: true,
      note: "localConcurrency 4, batchSize 1000, pollingIntervalSeconds 0.5, burstWhenBatchFull",
      config: {},
    },
  );
  if (ctx.redisUrl)
    for (const [version, latest] of [
      ["6.7.0", false],
      [LATEST.bullmq, true],
    ] as const)
      for (const concurrency of ctx.smoke ? [50] : [100, 200])
        list.push({
          system: "bullmq",
          child: "bullmq",
          version,
          latest,
          note: `concurrency ${concurrency}, completed jobs kept (default)`,
          config: { concurrency },
        });
  else ctx.log("no Redis: BullMQ left out");
  return list;
}
