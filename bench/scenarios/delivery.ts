import { Engine } from "@keel/engine";
import { startDeliveryWorker } from "@keel/server";
import { Logger, makeWorkerUtils, run } from "graphile-worker";
import pg from "pg";
import { fetch as undiciFetch } from "undici";
import { benchSchema, dropSchemas } from "../lib/postgres.js";
import { type Receiver, startReceiver } from "../lib/receiver.js";
import type { BenchContext, ResultRow, Scenario } from "../lib/scenario.js";
import { percentile, perSecond, sleep } from "../lib/stats.js";
import { newWhsec, signedHeaders, whsecKey } from "../lib/webhooks.js";

/**
 * Scenario 4: signed HTTP delivery of N jobs to a local receiver (its own process, verifying
 * every signature and counting each webhook-id). Keel: the server's delivery worker (`@http`
 * jobs with `{url}` targets, attempts recorded). Baseline: graphile-worker in its best
 * configuration whose task signs the JSON payload (Standard Webhooks HMAC, per request) and
 * POSTs it with undici `fetch`. Both run the same concurrency; the clock runs from worker
 * start until every job is recorded complete in Postgres.
 */
// Keel's default delivery concurrency (startKeel) and a higher one: deliveries are I/O-bound.
const CONCURRENCY = (process.env.BENCH_DELIVERY_CONCURRENCY ?? "20,100").split(",").map(Number);
const SECRET = newWhsec();

interface RunResult {
  ms: number;
  latencies: number[];
  /** Keel only: handler start to completion committed, per job. */
  slotMs: number[];
}

export const delivery: Scenario = {
  name: "delivery",
  title: "4. Signed HTTP delivery to a local receiver",
  target: "Keel ≥ 1x graphile-worker + undici fetch (deliveries/s), p99 attempt latency reported",
  async run(ctx: BenchContext): Promise<ResultRow[]> {
    const n = ctx.smoke ? 20 : Number(process.env.BENCH_DELIVERY_JOBS ?? 10_000);
    const payload = (i: number) => ({ type: "invoice.paid", n: i, data: "x".repeat(200) });
    const receiver = await startReceiver(SECRET);
    const schemas: string[] = [];
    try {
      // Warm-up (not measured): a small run of each, so JIT and connections are warm for both.
      const warm = ctx.smoke ? 0 : 500;
      if (warm > 0) {
        await runKeel(ctx, receiver, warm, payload, schemas, CONCURRENCY[0] as number);
        await runGraphile(ctx, receiver, warm, payload, schemas, CONCURRENCY[0] as number);
      }
      const rows: ResultRow[] = [];
      for (const concurrency of CONCURRENCY) {
        ctx.log(`keel: ${n} deliveries, concurrency ${concurrency}`);
        const keel = await runKeel(ctx, receiver, n, payload, schemas, concurrency);
        ctx.log(`graphile-worker + fetch: ${n} deliveries, concurrency ${concurrency}`);
        const gw = await runGraphile(ctx, receiver, n, payload, schemas, concurrency);
        const note = `${n} jobs, concurrency ${concurrency}, ~250-byte JSON, receiver in its own process verifying every signature${warm ? `, after a ${warm}-job warm-up of each` : ""}`;
        const row = (system: string, metric: string, value: number, unit: string, extra?: string) =>
          rows.push({
            scenario: "delivery",
            system: `${system} (c=${concurrency})`,
            metric,
            value,
            unit,
            note: extra,
          });
        const keelRate = perSecond(n, keel.ms);
        const gwRate = perSecond(n, gw.ms);
        row("keel delivery worker", "deliveries/s", keelRate, "/s", note);
        row("keel delivery worker", "p50 attempt latency", percentile(keel.latencies, 50), "ms");
        row("keel delivery worker", "p99 attempt latency", percentile(keel.latencies, 99), "ms");
        row(
          "keel delivery worker",
          "p50 handler start to outcome committed",
          percentile(keel.slotMs, 50),
          "ms",
          "onJobEnd durationMs; the slot itself frees when the handler returns",
        );
        row(
          "graphile-worker + undici fetch",
          "deliveries/s",
          gwRate,
          "/s",
          "local queue 500, batched completion (completeJobBatchDelay 0), same concurrency",
        );
        row("graphile-worker + undici fetch", "p50 attempt latency", percentile(gw.latencies, 50), "ms");
        row("graphile-worker + undici fetch", "p99 attempt latency", percentile(gw.latencies, 99), "ms");
        row("ratio", "keel / graphile-worker throughput", keelRate / gwRate, "x", "target ≥ 1");
        row(
          "ratio",
          "keel / graphile-worker p99 attempt latency",
          percentile(keel.latencies, 99) / Math.max(1, percentile(gw.latencies, 99)),
          "x",
          "lower is better",
        );
      }
      return rows;
    } finally {
      await receiver.close();
      await dropSchemas(ctx.databaseUrl, schemas);
    }
  },
};

/** Keel: jobs enqueued first (not timed), then the delivery worker started and timed. */
async function runKeel(
  ctx: BenchContext,
  receiver: Receiver,
  n: number,
  payload: (i: number) => unknown,
  schemas: string[],
  concurrency: number,
): Promise<RunResult> {
  const schema = benchSchema("delivery_keel");
  schemas.push(schema);
  const engine = await Engine.connect({ connectionString: ctx.databaseUrl, schema, migrate: true });
  try {
    await receiver.reset();
    for (let i = 0; i < n; i += 1000) {
      const chunk = Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({
        queue: "hooks",
        target: { url: receiver.url },
        payload: payload(i + j),
      }));
      await engine.enqueueMany(chunk);
    }
    const latencies: number[] = [];
    const slotMs: number[] = [];
    const start = performance.now();
    const worker = await startDeliveryWorker({
      engine,
      queues: ["hooks"],
      concurrency,
      signingSecrets: [SECRET],
      production: false,
      onResult: (result) => latencies.push(result.latencyMs),
      worker: { maintenance: false, hooks: { onJobEnd: (_job, r) => slotMs.push(r.durationMs) } },
    });
    let ms: number;
    try {
      await waitFor(
        ctx.databaseUrl,
        `select count(*)::int as n from "${schema}".job_history where state = 'succeeded'`,
        n,
      );
      ms = performance.now() - start;
    } finally {
      await worker.stop();
    }
    await check(ctx, "keel", receiver, n, latencies.length);
    const [row] = (
      await engine.pool.query<{ n: number }>(
        `select count(*)::int as n from "${schema}".job_tries where outcome = 'succeeded'`,
      )
    ).rows;
    if (row?.n !== n) throw new Error(`keel: ${row?.n} succeeded attempts recorded, expected ${n}`);
    return { ms, latencies, slotMs };
  } finally {
    await engine.close();
  }
}

/** graphile-worker: best configuration, a task that signs and POSTs with undici fetch. */
async function runGraphile(
  ctx: BenchContext,
  receiver: Receiver,
  n: number,
  payload: (i: number) => unknown,
  schemas: string[],
  concurrency: number,
): Promise<RunResult> {
  const schema = benchSchema("delivery_gw");
  schemas.push(schema);
  const logger = new Logger(() => () => {});
  const utils = await makeWorkerUtils({ connectionString: ctx.databaseUrl, schema, logger });
  const key = whsecKey(SECRET);
  const latencies: number[] = [];
  try {
    await utils.migrate();
    await receiver.reset();
    for (let i = 0; i < n; i += 1000) {
      await utils.addJobs(
        Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({
          identifier: "deliver",
          payload: payload(i + j),
        })),
      );
    }
    const start = performance.now();
    const runner = await run({
      connectionString: ctx.databaseUrl,
      schema,
      logger,
      concurrency,
      noHandleSignals: true,
      pollInterval: 1000,
      preset: {
        worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 },
      },
      taskList: {
        deliver: async (jobPayload, helpers) => {
          const started = performance.now();
          const body = JSON.stringify(jobPayload);
          const res = await undiciFetch(receiver.url, {
            method: "POST",
            headers: signedHeaders(key, `msg_${helpers.job.id}`, body),
            body,
            signal: AbortSignal.timeout(30_000),
          });
          await res.text();
          latencies.push(Math.round(performance.now() - started));
          if (!res.ok) throw new Error(`receiver answered ${res.status}`);
        },
      },
    });
    let ms: number;
    try {
      // graphile-worker deletes completed jobs: done when none are left.
      await waitFor(ctx.databaseUrl, `select ${n} - count(*)::int as n from "${schema}"._private_jobs`, n);
      ms = performance.now() - start;
    } finally {
      await runner.stop();
    }
    await check(ctx, "graphile-worker", receiver, n, latencies.length);
    return { ms, latencies, slotMs: [] };
  } finally {
    await utils.release();
  }
}

/** Polls `sql` (one row, column n) every 20 ms until it reaches `target`. */
async function waitFor(databaseUrl: string, sql: string, target: number): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const deadline = Date.now() + 600_000;
    for (;;) {
      const { rows } = await client.query<{ n: number }>(sql);
      if ((rows[0]?.n ?? 0) >= target) return;
      if (Date.now() > deadline) throw new Error(`gave up waiting: ${rows[0]?.n} of ${target}`);
      await sleep(20);
    }
  } finally {
    await client.end();
  }
}

/** Every job delivered exactly once, every signature valid, one attempt each. */
async function check(
  ctx: BenchContext,
  system: string,
  receiver: Receiver,
  n: number,
  attempts: number,
): Promise<void> {
  const stats = await receiver.stats();
  ctx.log(`${system}: receiver saw ${stats.total} (${stats.distinct} distinct, ${stats.bad} bad)`);
  if (stats.total !== n || stats.distinct !== n || stats.bad !== 0 || attempts !== n) {
    throw new Error(
      `${system}: expected ${n} deliveries exactly once; receiver saw ${stats.total} (${stats.distinct} distinct, ${stats.bad} refused), ${attempts} attempts`,
    );
  }
}
