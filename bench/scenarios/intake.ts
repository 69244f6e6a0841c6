import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import autocannon from "autocannon";
import pg from "pg";
import { cpuMs, machineCpu, spawnKeel, watchMainThread } from "../lib/keel-process.js";
import { startPlainIntake } from "../lib/plain-intake.js";
import { benchSchema, dropSchemas, settledCount } from "../lib/postgres.js";
import type { BenchContext, ResultRow, Scenario } from "../lib/scenario.js";
import { medianBy } from "../lib/stats.js";
import { newWhsec, signedHeaders, whsecKey } from "../lib/webhooks.js";

/**
 * Scenario 5: webhook intake over HTTP. Keel: the real `keel start --role api` (child process)
 * with a Standard Webhooks source whose one route goes to a `{handler}` target (so no HTTP
 * delivery load); every request carries a distinct webhook-id and a valid signature, so each
 * is verified, deduplicated, stored with its job and committed before the 200. Baseline: a
 * plain Fastify + pg handler (child process, same pool size) inserting the raw body. Reference:
 * pgbench single-row INSERT TPS, 8 clients. Same autocannon settings for both servers. Both
 * servers run at once and are loaded in turn, BENCH_INTAKE_PASSES rounds each (3 by default),
 * and each one's median round is reported (decision 077).
 */
const PGBENCH = "/usr/bin/pgbench";
const CONNECTIONS = 50;
const POOL_SIZE = 10; // Keel's engine pool default; the baseline gets the same.
const SECRET_VAR = "BENCH_INTAKE_SECRET";

export const intake: Scenario = {
  name: "intake",
  title: "5. Webhook intake: verify, dedupe, durable commit",
  target: "Keel ≥ 0.8x pgbench single-row INSERT TPS and ≥ 2x the plain Fastify + pg handler; p99 reported",
  async run(ctx: BenchContext): Promise<ResultRow[]> {
    const seconds = ctx.smoke ? 1 : Number(process.env.BENCH_INTAKE_SECONDS ?? 15);
    const warmSeconds = ctx.smoke ? 0 : 3;
    const passes = ctx.smoke ? 1 : Number(process.env.BENCH_INTAKE_PASSES ?? 3);
    const keelSchema = benchSchema("intake_keel");
    const plainSchema = benchSchema("intake_plain");
    const pgbenchSchema = benchSchema("intake_pgbench");
    const schemas = [keelSchema, plainSchema, pgbenchSchema];
    const secret = newWhsec();
    const dir = mkdtempSync(join(tmpdir(), "keel-bench-intake-"));
    const rows: ResultRow[] = [];
    const row = (system: string, metric: string, value: number, unit: string, note?: string) =>
      rows.push({ scenario: "intake", system, metric, value, unit, note });
    try {
      // Physical reference first, on a quiet machine.
      const tps = await pgbenchTps(ctx, pgbenchSchema, seconds);
      const config = join(dir, "keel.config.json");
      writeFileSync(
        config,
        JSON.stringify({
          sources: {
            bench: {
              provider: "standard",
              secrets: [`\${${SECRET_VAR}}`],
              routes: [{ events: ["*"], target: { handler: "bench" } }],
            },
          },
        }),
      );
      // Both servers up at once, loaded in turn: `passes` rounds each, alternated, and each
      // one's median round kept (decision 077).
      const plain = await startPlainIntake(ctx.databaseUrl, plainSchema, POOL_SIZE);
      const plainRuns: Load[] = [];
      const keelRuns: Load[] = [];
      try {
        const keel = await spawnKeel({
          DATABASE_URL: ctx.databaseUrl,
          KEEL_SCHEMA: keelSchema,
          KEEL_ROLE: "api",
          KEEL_CONFIG: config,
          KEEL_LOG_LEVEL: "warn",
          KEEL_ADMIN_TOKEN: randomBytes(24).toString("hex"),
          [SECRET_VAR]: secret,
        });
        try {
          for (let pass = 1; pass <= passes; pass++) {
            ctx.log(`intake pass ${pass}/${passes}: plain handler, then keel`);
            const plainMeasured = await measure(ctx, "plain handler", {
              url: `http://127.0.0.1:${plain.port}/in/bench`,
              pid: plain.pid,
              secret,
              seconds,
              warmSeconds,
              countSql: `select count(*)::int as n from "${plainSchema}".events`,
            });
            plainRuns.push(plainMeasured.run);
            const measured = await measure(ctx, "keel", {
              url: `http://127.0.0.1:${keel.port}/in/bench`,
              pid: keel.pid,
              secret,
              seconds,
              warmSeconds,
              countSql: `select count(*)::int as n from "${keelSchema}".events where source = 'bench'`,
            });
            keelRuns.push(measured.run);
            const jobs = await settledCount(
              ctx.databaseUrl,
              `select count(*)::int as n from "${keelSchema}".jobs`,
            );
            if (jobs !== measured.stored)
              throw new Error(`keel: ${measured.stored} events stored but ${jobs} jobs made`);
            ctx.log(
              `   plain ${Math.round(plainMeasured.run.rps)} req/s, keel ${Math.round(measured.run.rps)} req/s`,
            );
          }
        } finally {
          await keel.stop();
          for (const line of keel.problems) ctx.log(`keel: ${line}`);
        }
      } finally {
        await plain.stop();
      }
      const keelRun = medianBy(keelRuns, (r) => r.rps);
      const plainRun = medianBy(plainRuns, (r) => r.rps);
      const each = (runs: Load[]) => runs.map((r) => Math.round(r.rps).toLocaleString("en-US")).join(", ");
      const settings = `autocannon ${CONNECTIONS} connections, ${seconds} s${warmSeconds ? ` after a ${warmSeconds} s warm-up` : ""}, ~500-byte JSON bodies, distinct ids${passes > 1 ? `; median of ${passes} rounds alternated with the other server's` : ""}`;

      row(
        "keel start --role api",
        "requests/s",
        keelRun.rps,
        "/s",
        `${settings} (${each(keelRuns)} req/s); standard-webhooks source, one {handler} route; KEEL_LOG_LEVEL=warn; engine pool ${POOL_SIZE}`,
      );
      row("keel start --role api", "p50 latency", keelRun.p50, "ms");
      row("keel start --role api", "p99 latency", keelRun.p99, "ms");
      row(
        "keel start --role api",
        "server CPU per request",
        (keelRun.cpuMs * 1000) / keelRun.ok,
        "µs",
        "user + system time of the server process over the measured load",
      );
      row(
        "keel start --role api",
        "autocannon CPU per request",
        (keelRun.loaderCpuMs * 1000) / keelRun.ok,
        "µs",
      );
      row(
        "keel start --role api",
        "machine CPU busy during load",
        keelRun.machineBusy,
        "%",
        "all cores, all processes (Postgres, autocannon, other work)",
      );
      row(
        "keel start --role api",
        "other CPU per request",
        (keelRun.restCpuMs * 1000) / keelRun.ok,
        "µs",
        "machine CPU less the server's and autocannon's: Postgres, mostly",
      );
      threadRows(row, "keel start --role api", keelRun);
      row(
        "plain Fastify + pg handler",
        "requests/s",
        plainRun.rps,
        "/s",
        `${settings} (${each(plainRuns)} req/s); one INSERT of the raw body per request, pool ${POOL_SIZE}, no verification or dedupe`,
      );
      row("plain Fastify + pg handler", "p50 latency", plainRun.p50, "ms");
      row("plain Fastify + pg handler", "p99 latency", plainRun.p99, "ms");
      row(
        "plain Fastify + pg handler",
        "server CPU per request",
        (plainRun.cpuMs * 1000) / plainRun.ok,
        "µs",
      );
      row(
        "plain Fastify + pg handler",
        "autocannon CPU per request",
        (plainRun.loaderCpuMs * 1000) / plainRun.ok,
        "µs",
      );
      row("plain Fastify + pg handler", "machine CPU busy during load", plainRun.machineBusy, "%");
      row(
        "plain Fastify + pg handler",
        "other CPU per request",
        (plainRun.restCpuMs * 1000) / plainRun.ok,
        "µs",
      );
      threadRows(row, "plain Fastify + pg handler", plainRun);
      if (tps !== undefined) {
        row(
          "pgbench single-row INSERT",
          "TPS",
          tps,
          "/s",
          `8 clients, 2 threads, ${seconds} s, insert into t(v) values (:v)`,
        );
        row("ratio", "keel / pgbench", keelRun.rps / tps, "x", "target ≥ 0.8");
      } else {
        row("pgbench single-row INSERT", "TPS", 0, "/s", `skipped: ${PGBENCH} not found`);
      }
      row("ratio", "keel / plain handler", keelRun.rps / plainRun.rps, "x", "target ≥ 2");
      return rows;
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await dropSchemas(ctx.databaseUrl, schemas);
    }
  },
};

interface Load {
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  sent: number;
  non2xx: number;
  errors: number;
  /** CPU the server used during the load, filled in by the caller. */
  cpuMs: number;
  /** CPU autocannon (this process) used during the load. */
  loaderCpuMs: number;
  /** Share of the whole machine's CPU that was busy during the load (all processes). */
  machineBusy: number;
  /** CPU of every other process over the load (Postgres backends and background work), ms. */
  restCpuMs: number;
  /** The server's main thread over the load, % of its wall time: on a core, and runnable but waiting for one. */
  threadRun: number;
  threadWait: number;
}

/** autocannon against `url`, each request with a fresh webhook-id and its signature. */
async function load(url: string, secret: string, seconds: number): Promise<Load> {
  const key = whsecKey(secret);
  const run = randomBytes(4).toString("hex");
  const padding = "x".repeat(400);
  let seq = 0;
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: "POST",
        setupRequest: (req) => {
          const id = `msg_${run}_${seq++}`;
          const body = JSON.stringify({ type: "invoice.paid", id, data: { amount: seq, padding } });
          return { ...req, body, headers: signedHeaders(key, id, body) };
        },
      },
    ],
  });
  return {
    rps: result["2xx"] / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok: result["2xx"],
    sent: result.requests.sent,
    non2xx: result.non2xx,
    errors: result.errors,
    cpuMs: Number.NaN,
    loaderCpuMs: Number.NaN,
    machineBusy: Number.NaN,
    restCpuMs: Number.NaN,
    threadRun: Number.NaN,
    threadWait: Number.NaN,
  };
}

/**
 * Every answer 2xx, and every 2xx stored. Requests cut off in flight when the duration ends
 * may be stored without their answer being counted, so stored lies in [2xx, sent].
 */
/**
 * One measured load against a server: a warm-up, then autocannon with the server's and the
 * loader's CPU and the machine's busy share over the run; checks that every 2xx was stored
 * (`countSql` before and after). Returns the run and the stored total after it.
 */
async function measure(
  ctx: BenchContext,
  system: string,
  o: { url: string; pid: number; secret: string; seconds: number; warmSeconds: number; countSql: string },
): Promise<{ run: Load; stored: number }> {
  if (o.warmSeconds) await load(o.url, o.secret, o.warmSeconds);
  const before = await settledCount(ctx.databaseUrl, o.countSql);
  const cpu = cpuMs(o.pid);
  const own = cpuMs(process.pid);
  const machine = machineCpu();
  const thread = watchMainThread(o.pid);
  const run = await load(o.url, o.secret, o.seconds);
  Object.assign(run, thread());
  run.cpuMs = cpuMs(o.pid) - cpu;
  run.loaderCpuMs = cpuMs(process.pid) - own;
  run.machineBusy = busyShare(machine);
  // Jiffies (10 ms) of all cores, less the server's and the load generator's own CPU.
  run.restCpuMs = (machineCpu().busy - machine.busy) * 10 - run.cpuMs - run.loaderCpuMs;
  const stored = await settledCount(ctx.databaseUrl, o.countSql);
  checkLoad(system, run, stored - before);
  return { run, stored };
}

/**
 * Where the server's one JavaScript thread spent the load: on a core, or runnable and waiting for
 * one. Their sum near 100% means the server was the bottleneck; the waiting share is what a CPU
 * profile's samples in the write system calls mostly are (the thread woke the reader and lost its
 * core), not CPU spent there.
 */
function threadRows(
  row: (system: string, metric: string, value: number, unit: string, note?: string) => void,
  system: string,
  run: Load,
): void {
  row(system, "server thread on a core", run.threadRun, "%", "of the load's wall time (/proc schedstat)");
  row(
    system,
    "server thread waiting for a core",
    run.threadWait,
    "%",
    "runnable while other processes held both cores",
  );
}

function checkLoad(system: string, run: Load, stored: number): void {
  if (run.non2xx !== 0 || run.errors !== 0 || run.ok === 0) {
    throw new Error(`${system}: ${run.non2xx} non-2xx answers, ${run.errors} errors, ${run.ok} 2xx`);
  }
  if (stored < run.ok || stored > run.sent) {
    throw new Error(`${system}: ${stored} rows stored for ${run.ok} 2xx answers (${run.sent} sent)`);
  }
}

function busyShare(before: { busy: number; total: number }): number {
  const after = machineCpu();
  return (100 * (after.busy - before.busy)) / (after.total - before.total);
}

/** pgbench single-row INSERT TPS with 8 clients; undefined when the binary is missing. */
async function pgbenchTps(ctx: BenchContext, schema: string, seconds: number): Promise<number | undefined> {
  if (!existsSync(PGBENCH)) return undefined;
  const client = new pg.Client({ connectionString: ctx.databaseUrl });
  await client.connect();
  try {
    await client.query(`create schema "${schema}"`);
    await client.query(`create table "${schema}".t (id bigserial primary key, v bigint not null)`);
  } finally {
    await client.end();
  }
  const dir = mkdtempSync(join(tmpdir(), "keel-bench-pgbench-"));
  try {
    const script = join(dir, "insert.sql");
    writeFileSync(script, `\\set v random(1, 1000000000)\ninsert into "${schema}".t (v) values (:v);\n`);
    ctx.log(`pgbench: 8 clients, ${seconds} s`);
    const { stdout } = await promisify(execFile)(PGBENCH, [
      "-n",
      "-c",
      "8",
      "-j",
      "2",
      "-T",
      String(seconds),
      "-f",
      script,
      ctx.databaseUrl,
    ]);
    const match = /tps = ([\d.]+)/.exec(stdout);
    if (!match) throw new Error(`pgbench printed no tps:\n${stdout}`);
    return Number(match[1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
