/**
 * One system's part of the processing scenario in a process of its own (bench/scenarios/process.ts
 * starts it): `fill` enqueues jobs {k} for k in [from, from + n) in batches of 1,000 and exits;
 * `process` starts the system's worker in this fresh process, runs until the store shows every
 * job durably finished, checks each ran exactly once and prints one JSON line: the time, the WAL
 * Postgres wrote, this process's CPU and the machine's. The same file runs Keel (the built
 * engine, Node 20), the previous peers (the project's node_modules, Node 20) and the latest
 * peers (bench/peers/node_modules, Node 22): `modules` says where each system is loaded from.
 *
 *   node process.mjs '<json: {mode, system, config, databaseUrl, redisUrl, schema, queue, from, n, modules}>'
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import pg from "pg";

const args = JSON.parse(process.argv[2]);
const BATCH = 1_000;
const log = (m) => process.stderr.write(`${m}\n`);

/** Imports a package as the file `args.modules` would resolve it (its folder's node_modules). */
async function load(name) {
  const require = createRequire(args.modules ?? import.meta.url);
  for (const dir of require.resolve.paths(name) ?? []) {
    let pkg;
    try {
      pkg = JSON.parse(readFileSync(`${dir}/${name}/package.json`, "utf8"));
    } catch {
      continue;
    }
    const e = pkg.exports;
    const dot = typeof e === "string" ? e : (e?.["."] ?? pkg.main);
    const pick = (x) =>
      typeof x === "string" ? x : (x?.import ?? x?.default ?? (x?.node ? pick(x.node) : x?.require));
    return import(
      pathToFileURL(`${dir}/${name}/${String(pick(dot) ?? "index.js").replace(/^\.\//, "")}`).href
    );
  }
  throw new Error(`cannot find ${name} from ${args.modules}`);
}

async function walPosition(client) {
  const { rows } = await client.query("select (pg_current_wal_lsn() - '0/0'::pg_lsn)::text as b");
  return Number(rows[0].b);
}

/** Busy jiffies of the whole machine (all CPUs), from /proc/stat. */
function machineBusy() {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  return cpu.reduce((a, b) => a + b, 0) - idle;
}

function countdown(n) {
  let left = n;
  let resolve;
  const done = new Promise((r) => {
    resolve = r;
  });
  return {
    tick: () => {
      if (--left === 0) resolve();
    },
    done,
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(check, timeoutMs = 600_000) {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error("timed out waiting for the jobs to finish");
    await sleep(5);
  }
}

async function count(sql) {
  const client = new pg.Client({ connectionString: args.databaseUrl });
  await client.connect();
  try {
    return (await client.query(sql)).rows[0].n;
  } finally {
    await client.end();
  }
}

async function inBatches(from, n, add) {
  for (let i = 0; i < n; i += BATCH)
    await add(Array.from({ length: Math.min(BATCH, n - i) }, (_, j) => from + i + j));
}

/** Each system: fill(), and process(seen) resolving when all n are durably finished. */
const systems = {
  async keel() {
    const { Engine, createWorker } = await import(pathToFileURL(args.modules).href);
    const engine = await Engine.connect({
      connectionString: args.databaseUrl,
      schema: args.schema,
      poolSize: 20,
      migrate: true,
    });
    return {
      fill: (from, n) =>
        inBatches(from, n, (ks) =>
          engine.enqueueMany(
            ks.map((k) => ({ queue: args.queue, target: { handler: "noop" }, payload: { k } })),
          ),
        ),
      async process(n, seen) {
        const finished = countdown(n);
        const worker = createWorker({
          engine,
          queues: [args.queue],
          concurrency: args.config.concurrency,
          claimAhead: args.config.claimAhead,
          maintenance: false,
          handlers: { noop: ({ payload }) => seen(payload.k) },
          hooks: {
            // After the completion is committed.
            onJobEnd: (_job, r) => {
              if (r.outcome !== "succeeded") throw new Error(`keel job ended ${r.outcome}`);
              finished.tick();
            },
          },
        });
        await worker.start();
        await finished.done;
        return () => worker.stop();
      },
      async verify() {
        const s = `"${args.schema}"`;
        const left = await count(`select count(*)::int as n from ${s}.jobs`);
        const history = await count(
          `select count(*)::int as n from ${s}.job_history where state = 'succeeded'`,
        );
        if (left !== 0 || history < args.total)
          throw new Error(`keel: ${left} jobs left, ${history} succeeded in history`);
      },
      close: () => engine.close(),
    };
  },

  async graphile() {
    const { Logger, makeWorkerUtils, run } = await load("graphile-worker");
    const logger = new Logger(() => (level, message) => {
      if (level === "error") log(`graphile-worker: ${message}`);
    });
    const utils = await makeWorkerUtils({ connectionString: args.databaseUrl, schema: args.schema, logger });
    await utils.migrate();
    const left = () => count(`select count(*)::int as n from "${args.schema}"._private_jobs`);
    return {
      fill: (from, n) =>
        inBatches(from, n, (ks) => utils.addJobs(ks.map((k) => ({ identifier: "noop", payload: { k } })))),
      async process(n, seen) {
        const handled = countdown(n);
        const common = {
          connectionString: args.databaseUrl,
          schema: args.schema,
          logger,
          noHandleSignals: true,
          crontab: "",
          taskList: {
            noop: async (payload) => {
              seen(payload.k);
              handled.tick();
            },
          },
        };
        const runner = await run(
          args.config.best
            ? {
                ...common,
                concurrency: args.config.concurrency ?? 50,
                maxPoolSize: 20,
                preset: {
                  worker: { localQueue: { size: args.config.localQueue ?? 500 }, completeJobBatchDelay: 0 },
                },
              }
            : { ...common, concurrency: 10 },
        );
        await handled.done;
        // Batched completion: done when the job table no longer holds the jobs.
        await until(async () => (await left()) === 0);
        return async () => {
          await runner.stop();
          await runner.promise;
        };
      },
      close: () => utils.release(),
    };
  },

  async pgboss() {
    const mod = await load("pg-boss");
    const PgBoss = mod.PgBoss ?? mod.default;
    const boss = new PgBoss({
      connectionString: args.databaseUrl,
      schema: args.schema,
      max: 10,
      supervise: false,
      schedule: false,
    });
    boss.on("error", () => {});
    await boss.start();
    if (!(await boss.getQueue(args.queue))) await boss.createQueue(args.queue);
    const latest = !mod.default;
    const completed = () =>
      count(
        `select count(*)::int as n from "${args.schema}".job where name = '${args.queue}' and state = 'completed'`,
      );
    return {
      fill: (from, n) =>
        inBatches(from, n, (ks) =>
          latest
            ? boss.insert(
                args.queue,
                ks.map((k) => ({ data: { k } })),
              )
            : boss.insert(ks.map((k) => ({ name: args.queue, data: { k } }))),
        ),
      async process(n, seen) {
        const handled = countdown(n);
        const before = await completed();
        const options = latest
          ? { batchSize: 1000, pollingIntervalSeconds: 0.5, localConcurrency: 4, burstWhenBatchFull: true }
          : { batchSize: 1000, pollingIntervalSeconds: 0.5 };
        const ids = [];
        const handler = async (batch) => {
          for (const job of batch) {
            seen(job.data.k);
            handled.tick();
          }
        };
        if (latest) ids.push(await boss.work(args.queue, options, handler));
        else for (let w = 0; w < 4; w++) ids.push(await boss.work(args.queue, options, handler));
        await handled.done;
        await until(async () => (await completed()) === before + n);
        return async () => {
          for (const id of ids) await boss.offWork(latest ? args.queue : { id }, latest ? { id } : undefined);
        };
      },
      close: () => boss.stop({ graceful: false, wait: true, close: true }),
    };
  },

  async bullmq() {
    const { Queue, Worker } = await load("bullmq");
    const u = new URL(args.redisUrl);
    const connection = {
      host: u.hostname || "127.0.0.1",
      port: Number(u.port || 6379),
      maxRetriesPerRequest: null,
    };
    const queue = new Queue(args.queue, { connection, prefix: args.schema });
    return {
      fill: (from, n) =>
        inBatches(from, n, (ks) => queue.addBulk(ks.map((k) => ({ name: "noop", data: { k } })))),
      async process(n, seen) {
        const finished = countdown(n);
        const worker = new Worker(
          args.queue,
          async (job) => {
            seen(job.data.k);
          },
          { connection, prefix: args.schema, concurrency: args.config.concurrency },
        );
        // 'completed' fires after the job was moved to the completed set.
        worker.on("completed", () => finished.tick());
        await finished.done;
        return () => worker.close();
      },
      close: () => queue.close(),
    };
  },
};

/**
 * Processes jobs [from, from + n), already enqueued, with a worker started now; resolves with the
 * time and cost once they are durably finished, each exactly once.
 */
async function measured(system, from, n) {
  const counts = new Uint8Array(n);
  let firstAt = 0;
  const seen = (k) => {
    firstAt ||= performance.now();
    const i = k - from;
    if (i < 0 || i >= n) throw new Error(`${args.system}: unexpected job ${k}`);
    counts[i] += 1;
  };
  const meter = new pg.Client({ connectionString: args.databaseUrl });
  await meter.connect();
  const onPostgres = args.system !== "bullmq";
  const wal0 = onPostgres ? await walPosition(meter) : 0;
  const cpu0 = process.cpuUsage();
  const busy0 = machineBusy();
  const t = performance.now();
  const stop = await system.process(n, seen);
  const ms = performance.now() - t;
  const cpu = process.cpuUsage(cpu0);
  const busy = machineBusy() - busy0;
  const walBytes = onPostgres ? (await walPosition(meter)) - wal0 : 0;
  await meter.end();
  await stop();
  const wrong = counts.findIndex((c) => c !== 1);
  if (wrong >= 0) throw new Error(`${args.system}: job ${from + wrong} ran ${counts[wrong]} times`);
  const selfCpuMs = (cpu.user + cpu.system) / 1000;
  // firstMs: from the worker's start to its first handler call (start-up, first claim).
  return { ms, firstMs: firstAt - t, walBytes, selfCpuMs, otherCpuMs: Math.max(0, busy * 10 - selfCpuMs) };
}

const system = await systems[args.system]();
try {
  if (args.mode === "fill") {
    await system.fill(args.from, args.n);
    process.stdout.write(`${JSON.stringify({ filled: args.n })}\n`);
  } else {
    // Warm: a round of `warm` jobs in this process first (filled and processed, not measured),
    // then the measured jobs are enqueued here too. Cold: a fill process enqueued them before.
    let from = args.from;
    if (args.warm > 0) {
      await system.fill(from, args.warm);
      await measured(system, from, args.warm);
      from += args.warm;
      await system.fill(from, args.n);
    }
    const result = await measured(system, from, args.n);
    args.total = from + args.n;
    await system.verify?.();
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
} finally {
  await system.close();
}
process.exit(0);
