/**
 * Scenario 1: enqueue throughput, bulk (batches of 1,000, one caller) and single (one job per
 * call, 8 concurrent callers), Keel against graphile-worker, pg-boss and BullMQ. Each system gets
 * a warm-up (excluded), then the rounds alternate between systems so a noisy moment on the shared
 * machine does not land on one system only; the best round counts. Every system must hold exactly
 * the jobs it was given at the end.
 */
import { Engine } from "../../packages/engine/src/index.js";
import {
  bullPrefix,
  bullQueue,
  dropBullPrefix,
  graphileUtils,
  pgBossCount,
  startPgBoss,
  stopPgBoss,
} from "../lib/peers-queue.js";
import { benchSchema, dropSchemas } from "../lib/postgres.js";
import type { BenchContext, ResultRow, Scenario } from "../lib/scenario.js";
import { perSecond, timed } from "../lib/stats.js";

const QUEUE = "bench";
const BATCH = 1_000;
const CALLERS = 8;

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
  title: "1. Enqueue throughput, bulk (batches of 1,000) and single (8 concurrent callers)",
  target: "≥ graphile-worker, bulk and single",
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
      row("keel", "bulk ratio vs graphile-worker", k.bulk / g.bulk, "x", "target ≥ 1");
      row("keel", "single ratio vs graphile-worker", k.single / g.single, "x", "target ≥ 1");
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
