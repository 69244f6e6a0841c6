/**
 * Scenario 1: enqueue throughput, bulk (batches of 1,000, one caller) and single (one job per
 * call, 8 concurrent callers), Keel against graphile-worker, pg-boss and BullMQ. Each system gets
 * a warm-up (excluded), then the rounds alternate between systems so a noisy moment on the shared
 * machine does not land on one system only; the best round counts (the HTTP part keeps each
 * server's median of three rounds instead, decision 077). Every system must hold exactly the
 * jobs it was given at the end. graphile-worker 0.18 and pg-boss 12 (Node 22) run the same
 * sizes in a child process (bench/peers/enqueue.mjs) after the in-process rounds.
 *
 * Then single enqueue over HTTP: the real `keel start --role api` (child process) against a plain
 * Fastify + pg handler (child process, one INSERT per request, same pool size), autocannon with
 * 50 connections posting one job per request, alternated.
 */
import { randomBytes, randomUUID } from "node:crypto";
import autocannon from "autocannon";
import { Engine } from "../../packages/engine/src/index.js";
import { cpuMs, spawnKeel, watchMainThread } from "../lib/keel-process.js";
import { LATEST, runOnPeersNode } from "../lib/peers-latest.js";
import {
  bullPrefix,
  bullQueue,
  dropBullPrefix,
  graphileUtils,
  pgBossCount,
  startPgBoss,
  stopPgBoss,
} from "../lib/peers-queue.js";
import { startPlainEnqueue } from "../lib/plain-enqueue.js";
import { benchSchema, dropSchemas, settledCount } from "../lib/postgres.js";
import type { BenchContext, ResultRow, Scenario } from "../lib/scenario.js";
import { medianBy, perSecond, timed } from "../lib/stats.js";

const QUEUE = "bench";
const BATCH = 1_000;
const CALLERS = 8;
const HTTP_CONNECTIONS = 50;
const HTTP_POOL = 10; // Keel's engine pool default; the baseline gets the same.

interface Enqueuer {
  system: string;
  note: string;
  bulk(jobs: { k: number }[]): Promise<unknown>;
  single(job: { k: number }): Promise<unknown>;
  /** Jobs the system holds now. */
  count(): Promise<number>;
  close(): Promise<void>;
}

export const enqueue: Scenario = {
  name: "enqueue",
  title:
    "1. Enqueue throughput, bulk (batches of 1,000) and single (8 concurrent callers; HTTP, 50 connections)",
  target:
    "bulk ≥ 1.2x graphile-worker; single ≥ graphile-worker; HTTP single ≥ 2,000 req/s, p99 < 50 ms, ≥ 1.5x the plain Fastify + pg handler",
  async run(ctx: BenchContext): Promise<ResultRow[]> {
    const bulkJobs = ctx.smoke ? 2 * BATCH : 20_000;
    const singleJobs = ctx.smoke ? 100 : 5_000;
    const rounds = ctx.smoke ? 1 : 2;
    const schemas: string[] = [];
    const enqueuers: Enqueuer[] = [];
    const prefix = bullPrefix();
    try {
      enqueuers.push(await keel(ctx, schemas));
      enqueuers.push(await graphile(ctx, schemas));
      enqueuers.push(await pgBoss(ctx, schemas));
      if (ctx.redisUrl) enqueuers.push(bullmq(ctx.redisUrl, prefix));
      else ctx.log("no Redis: BullMQ left out");

      let next = 0;
      const fresh = (n: number) => Array.from({ length: n }, () => ({ k: next++ }));
      const expected = new Map<string, number>(enqueuers.map((e) => [e.system, 0]));
      const add = (e: Enqueuer, n: number) => expected.set(e.system, (expected.get(e.system) ?? 0) + n);

      // Warm-up: connections, prepared statements, JIT, queue creation.
      for (const e of enqueuers) {
        await e.bulk(fresh(BATCH));
        await singles(e, fresh(200));
        add(e, BATCH + 200);
      }

      const best = new Map<string, { bulk: number; single: number }>();
      for (let round = 0; round < rounds; round++) {
        for (const e of enqueuers) {
          const bulk = await timed(async () => {
            for (let i = 0; i < bulkJobs; i += BATCH) await e.bulk(fresh(Math.min(BATCH, bulkJobs - i)));
          });
          const single = await timed(() => singles(e, fresh(singleJobs)));
          add(e, bulkJobs + singleJobs);
          const b = perSecond(bulkJobs, bulk.ms);
          const s = perSecond(singleJobs, single.ms);
          ctx.log(`round ${round + 1} ${e.system}: bulk ${Math.round(b)}/s, single ${Math.round(s)}/s`);
          const prev = best.get(e.system);
          best.set(e.system, { bulk: Math.max(prev?.bulk ?? 0, b), single: Math.max(prev?.single ?? 0, s) });
        }
      }

      // The latest peers run in a Node 22 child that enqueues into fresh schemas: one child round
      // at a time, each right after a Keel round on a fresh schema with the child's steps (warm-up,
      // the timed bulk, the singles), so both sides of the 0.18 ratio start from empty tables and
      // meet the same moments of this shared machine.
      let keelBeside = 0;
      let latest: { graphile: Rates; pgBoss: Rates } = {
        graphile: { bulk: 0, single: 0 },
        pgBoss: { bulk: 0, single: 0 },
      };
      for (let round = 0; round < rounds; round++) {
        const side = await keel(ctx, schemas);
        try {
          await side.bulk(fresh(BATCH));
          await singles(side, fresh(200));
          const bulk = await timed(async () => {
            for (let i = 0; i < bulkJobs; i += BATCH) await side.bulk(fresh(Math.min(BATCH, bulkJobs - i)));
          });
          await singles(side, fresh(singleJobs));
          const held = await side.count();
          if (held !== BATCH + 200 + bulkJobs + singleJobs)
            throw new Error(`keel holds ${held} jobs in round ${round}`);
          keelBeside = Math.max(keelBeside, perSecond(bulkJobs, bulk.ms));
        } finally {
          await side.close();
        }
        const child = await latestPeers(ctx, { bulkJobs, singleJobs, rounds: 1 });
        latest = {
          graphile: {
            bulk: Math.max(latest.graphile.bulk, child.graphile.bulk),
            single: Math.max(latest.graphile.single, child.graphile.single),
          },
          pgBoss: {
            bulk: Math.max(latest.pgBoss.bulk, child.pgBoss.bulk),
            single: Math.max(latest.pgBoss.single, child.pgBoss.single),
          },
        };
      }

      for (const e of enqueuers) {
        const held = await e.count();
        if (held !== expected.get(e.system))
          throw new Error(`${e.system} holds ${held} jobs, expected ${expected.get(e.system)}`);
      }

      const rows: ResultRow[] = [];
      const row = (system: string, metric: string, value: number, unit: string, note?: string) =>
        rows.push({ scenario: "enqueue", system, metric, value, unit, ...(note ? { note } : {}) });
      const sizes = `best of ${rounds} round(s) after a warm-up; ${bulkJobs} bulk, ${singleJobs} single`;
      for (const e of enqueuers) {
        const r = best.get(e.system) as { bulk: number; single: number };
        row(e.system, "bulk enqueue", r.bulk, "jobs/s", `${e.note}; ${sizes}`);
        row(e.system, `single enqueue (${CALLERS} callers)`, r.single, "jobs/s", e.note);
      }
      const k = best.get("keel") as { bulk: number; single: number };
      const g = best.get("graphile-worker") as { bulk: number; single: number };
      row("keel", "bulk ratio vs graphile-worker", k.bulk / g.bulk, "x", "target ≥ 1.2");
      row("keel", "single ratio vs graphile-worker", k.single / g.single, "x", "target ≥ 1");

      const latestNote = `Node ${LATEST.node} child, one round per child on fresh schemas, alternated with Keel's; ${sizes}`;
      row(
        "keel",
        "bulk enqueue, rounds alternated with the 0.18 child",
        keelBeside,
        "jobs/s",
        `best of ${rounds}, each on a fresh schema after the child's warm-up; the figure the 0.18 ratio uses`,
      );
      row(
        "graphile-worker 0.18",
        "bulk enqueue",
        latest.graphile.bulk,
        "jobs/s",
        `graphile-worker ${LATEST.graphileWorker} WorkerUtils addJobs, pool 10; ${latestNote}`,
      );
      row("graphile-worker 0.18", `single enqueue (${CALLERS} callers)`, latest.graphile.single, "jobs/s");
      row(
        "pg-boss 12",
        "bulk enqueue",
        latest.pgBoss.bulk,
        "jobs/s",
        `pg-boss ${LATEST.pgBoss} insert, pool 10; ${latestNote}`,
      );
      row("pg-boss 12", `single enqueue (${CALLERS} callers)`, latest.pgBoss.single, "jobs/s");
      row(
        "keel",
        "bulk ratio vs graphile-worker 0.18",
        keelBeside / latest.graphile.bulk,
        "x",
        "target ≥ 1.2",
      );
      row(
        "keel",
        "single ratio vs graphile-worker 0.18",
        k.single / latest.graphile.single,
        "x",
        "target ≥ 1",
      );

      rows.push(...(await httpSingles(ctx, schemas)));
      return rows;
    } finally {
      for (const e of enqueuers) await e.close().catch(() => {});
      await dropSchemas(ctx.databaseUrl, schemas);
      if (ctx.redisUrl) await dropBullPrefix(ctx.redisUrl, prefix);
    }
  },
};

/** `jobs` one call each, from `CALLERS` concurrent callers. */
async function singles(e: Enqueuer, jobs: { k: number }[]): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (i < jobs.length) await e.single(jobs[i++] as { k: number });
    }),
  );
}

async function keel(ctx: BenchContext, schemas: string[]): Promise<Enqueuer> {
  const schema = benchSchema("keel_enq");
  schemas.push(schema);
  const engine = await Engine.connect({
    connectionString: ctx.databaseUrl,
    schema,
    poolSize: 10,
    migrate: true,
  });
  const job = (payload: { k: number }) => ({ queue: QUEUE, target: { handler: "noop" }, payload });
  return {
    system: "keel",
    note: "Keel enqueueMany / enqueue, pool 10",
    bulk: (jobs) => engine.enqueueMany(jobs.map(job)),
    single: (payload) => engine.enqueue(job(payload)),
    count: async () =>
      (await engine.pool.query<{ n: number }>(`select count(*)::int as n from "${schema}".jobs`)).rows[0]
        ?.n ?? 0,
    close: () => engine.close(),
  };
}

async function graphile(ctx: BenchContext, schemas: string[]): Promise<Enqueuer> {
  const schema = benchSchema("gw_enq");
  schemas.push(schema);
  const utils = await graphileUtils(ctx.databaseUrl, schema);
  return {
    system: "graphile-worker",
    note: "graphile-worker 0.17.3 WorkerUtils addJobs / addJob, pool 10",
    bulk: (jobs) => utils.addJobs(jobs.map((payload) => ({ identifier: "noop", payload }))),
    single: (payload) => utils.addJob("noop", payload),
    count: () =>
      utils.withPgClient(
        async (c) => (await c.query(`select count(*)::int as n from "${schema}"._private_jobs`)).rows[0].n,
      ),
    close: async () => {
      await utils.release();
    },
  };
}

async function pgBoss(ctx: BenchContext, schemas: string[]): Promise<Enqueuer> {
  const schema = benchSchema("pgboss_enq");
  schemas.push(schema);
  const boss = await startPgBoss(ctx.databaseUrl, schema, QUEUE);
  return {
    system: "pg-boss",
    note: "pg-boss 10.4.2 insert / send, pool 10",
    bulk: (jobs) => boss.insert(jobs.map((data) => ({ name: QUEUE, data }))),
    single: (data) => boss.send(QUEUE, data),
    count: () => pgBossCount(ctx.databaseUrl, schema, QUEUE, "created"),
    close: () => stopPgBoss(boss),
  };
}

function bullmq(redisUrl: string, prefix: string): Enqueuer {
  const queue = bullQueue(redisUrl, prefix, QUEUE);
  return {
    system: "bullmq",
    note: "BullMQ 6.7.0 addBulk / add, Redis on loopback",
    bulk: (jobs) => queue.addBulk(jobs.map((data) => ({ name: "noop", data }))),
    single: (data) => queue.add("noop", data),
    count: async () => (await queue.getJobCounts("waiting")).waiting ?? 0,
    close: () => queue.close(),
  };
}

interface Rates {
  bulk: number;
  single: number;
}

/** graphile-worker 0.18 and pg-boss 12 on Node 22 (bench/peers/enqueue.mjs), same sizes. */
async function latestPeers(
  ctx: BenchContext,
  sizes: { bulkJobs: number; singleJobs: number; rounds: number },
): Promise<{ graphile: Rates; pgBoss: Rates }> {
  const gw = benchSchema("gw18_enq");
  const boss = benchSchema("pgboss12_enq");
  try {
    const child = runOnPeersNode(
      "enqueue.mjs",
      [ctx.databaseUrl, gw, boss, String(sizes.bulkJobs), String(sizes.singleJobs), String(sizes.rounds)],
      ctx.log,
    );
    return (await child.result) as { graphile: Rates; pgBoss: Rates };
  } finally {
    await dropSchemas(ctx.databaseUrl, [gw, boss]);
  }
}

interface HttpLoad {
  /** Server CPU (user + system) per answered request, in µs: steadier than req/s on a shared machine. */
  cpuUs: number;
  /** The server's main thread over the load, % of wall time: on a core, and waiting for one. */
  threadRun: number;
  threadWait: number;
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  sent: number;
}

/**
 * POST /v1/jobs over HTTP: `keel start --role api` against the plain handler, autocannon with
 * 50 connections, one job per request, alternated rounds (each server's median round counts,
 * decision 077); every 2xx must be stored.
 * Keel is sent a `publish` token, and is run a second time with a fresh Idempotency-Key on each
 * request (what the SDK's createJob sends).
 */
async function httpSingles(ctx: BenchContext, schemas: string[]): Promise<ResultRow[]> {
  const seconds = ctx.smoke ? 1 : Number(process.env.BENCH_ENQUEUE_HTTP_SECONDS ?? 10);
  const warmSeconds = ctx.smoke ? 0 : 2;
  const rounds = ctx.smoke ? 1 : Number(process.env.BENCH_ENQUEUE_HTTP_ROUNDS ?? 3);
  const keelSchema = benchSchema("keel_http_enq");
  const plainSchema = benchSchema("plain_http_enq");
  schemas.push(keelSchema, plainSchema);
  const token = randomBytes(24).toString("hex");
  const keel = async () => {
    const k = await spawnKeel({
      DATABASE_URL: ctx.databaseUrl,
      KEEL_SCHEMA: keelSchema,
      KEEL_ROLE: "api",
      KEEL_LOG_LEVEL: "warn",
      KEEL_ADMIN_TOKEN: token,
    });
    // A team's service enqueues with a publish-scoped token, not the admin token (checked
    // without Postgres): the bench does the same.
    const made = await fetch(`http://127.0.0.1:${k.port}/v1/tokens`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ name: "bench", scopes: ["publish"] }),
    });
    if (made.status !== 201) throw new Error(`keel: creating a publish token answered ${made.status}`);
    const bearer = ((await made.json()) as { token: string }).token;
    return {
      pid: k.pid,
      port: k.port,
      stop: () => k.stop(),
      schema: keelSchema,
      problems: k.problems,
      bearer,
      keyed: false,
    };
  };
  const servers = {
    keel,
    // The SDK's createJob sends an Idempotency-Key on every call (its retries are safe): the path
    // a team using the SDK takes.
    keelKeyed: async () => ({ ...(await keel()), keyed: true }),
    plain: async () => {
      const p = await startPlainEnqueue(ctx.databaseUrl, plainSchema, HTTP_POOL, token);
      return {
        pid: p.pid,
        port: p.port,
        stop: () => p.stop(),
        schema: plainSchema,
        problems: [] as string[],
        bearer: token,
        keyed: false,
      };
    },
  };
  const runs: Record<keyof typeof servers, HttpLoad[]> = { keel: [], keelKeyed: [], plain: [] };
  for (let round = 0; round < rounds; round++) {
    const order = (
      round % 2 === 0 ? ["plain", "keel", "keelKeyed"] : ["keelKeyed", "keel", "plain"]
    ) as (keyof typeof servers)[];
    for (const name of order) {
      const server = await servers[name]();
      try {
        const url = `http://127.0.0.1:${server.port}/v1/jobs`;
        if (warmSeconds) await httpLoad(url, server.bearer, warmSeconds, server.keyed);
        const countSql = `select count(*)::int as n from "${server.schema}".jobs`;
        const before = await settledCount(ctx.databaseUrl, countSql);
        const cpu = cpuMs(server.pid);
        const thread = watchMainThread(server.pid);
        const run = await httpLoad(url, server.bearer, seconds, server.keyed);
        run.cpuUs = ((cpuMs(server.pid) - cpu) * 1000) / run.ok;
        Object.assign(run, thread());
        const stored = (await settledCount(ctx.databaseUrl, countSql)) - before;
        if (stored < run.ok || stored > run.sent)
          throw new Error(`${name}: ${stored} jobs stored for ${run.ok} 2xx answers (${run.sent} sent)`);
        ctx.log(
          `HTTP round ${round + 1} ${name}: ${Math.round(run.rps)} req/s, p99 ${run.p99} ms, ${Math.round(run.cpuUs)} µs CPU/request`,
        );
        runs[name].push(run);
      } finally {
        await server.stop();
        for (const line of server.problems) ctx.log(`${name}: ${line}`);
      }
    }
  }
  const k = medianBy(runs.keel, (r) => r.rps);
  const kk = medianBy(runs.keelKeyed, (r) => r.rps);
  const p = medianBy(runs.plain, (r) => r.rps);
  const each = (list: HttpLoad[]) => list.map((r) => Math.round(r.rps).toLocaleString("en-US")).join(", ");
  const settings = `autocannon ${HTTP_CONNECTIONS} connections, ${seconds} s after a ${warmSeconds} s warm-up, median of ${rounds} alternated round(s), pool ${HTTP_POOL}`;
  const rows: ResultRow[] = [];
  const row = (system: string, metric: string, value: number, unit: string, note?: string) =>
    rows.push({ scenario: "enqueue", system, metric, value, unit, ...(note ? { note } : {}) });
  row(
    "keel start --role api",
    "HTTP single enqueue",
    k.rps,
    "req/s",
    `POST /v1/jobs, one job each, a publish-scoped API token; ${settings} (${each(runs.keel)} req/s)`,
  );
  row("keel start --role api", "HTTP single enqueue p99", k.p99, "ms", `p50 ${k.p50} ms; target < 50`);
  row(
    "plain Fastify + pg handler",
    "HTTP single enqueue",
    p.rps,
    "req/s",
    `bearer check, one INSERT per request into a jobs table like Keel's; ${settings} (${each(runs.plain)} req/s)`,
  );
  row("plain Fastify + pg handler", "HTTP single enqueue p99", p.p99, "ms", `p50 ${p.p50} ms`);
  row(
    "keel start --role api",
    "HTTP single enqueue server CPU per request",
    k.cpuUs,
    "µs",
    "in the median round",
  );
  row(
    "plain Fastify + pg handler",
    "HTTP single enqueue server CPU per request",
    p.cpuUs,
    "µs",
    "in the median round",
  );
  for (const [system, run] of [
    ["keel start --role api", k],
    ["plain Fastify + pg handler", p],
  ] as const) {
    row(
      system,
      "HTTP single enqueue server thread on a core / waiting for one",
      run.threadRun,
      "%",
      `waiting ${run.threadWait.toFixed(0)}% of the load's wall time (/proc schedstat), in the median round`,
    );
  }
  row(
    "keel start --role api, Idempotency-Key",
    "HTTP single enqueue",
    kk.rps,
    "req/s",
    `the same with a fresh Idempotency-Key on every request, as the SDK's createJob sends; p99 ${kk.p99} ms, ${Math.round(kk.cpuUs)} µs of server CPU per request`,
  );
  row(
    "keel",
    "HTTP single enqueue ratio vs plain handler",
    k.rps / p.rps,
    "x",
    "target ≥ 1.5 and ≥ 2,000 req/s",
  );
  row(
    "keel",
    "HTTP single enqueue with Idempotency-Key ratio vs plain handler",
    kk.rps / p.rps,
    "x",
    "keyed requests group-committed: keys taken in one statement, jobs and stored responses in one transaction per group (decision 063)",
  );
  return rows;
}

async function httpLoad(url: string, token: string, seconds: number, keyed: boolean): Promise<HttpLoad> {
  let seq = 0;
  const result = await autocannon({
    url,
    connections: HTTP_CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        setupRequest: (req) => ({
          ...req,
          ...(keyed ? { headers: { ...req.headers, "idempotency-key": randomUUID() } } : {}),
          body: JSON.stringify({ queue: QUEUE, target: { handler: "noop" }, payload: { k: seq++ } }),
        }),
      },
    ],
  });
  if (result.non2xx !== 0 || result.errors !== 0 || result["2xx"] === 0)
    throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result["2xx"]} 2xx`);
  return {
    cpuUs: Number.NaN,
    threadRun: Number.NaN,
    threadWait: Number.NaN,
    rps: result["2xx"] / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok: result["2xx"],
    sent: result.requests.sent,
  };
}
