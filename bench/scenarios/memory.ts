import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { type KeelChild, rssBytes, spawnKeel } from "../lib/keel-process.js";
import { benchSchema, dropSchemas } from "../lib/postgres.js";
import { startReceiver } from "../lib/receiver.js";
import type { BenchContext, ResultRow, Scenario } from "../lib/scenario.js";
import { percentile, sleep } from "../lib/stats.js";
import { newWhsec, signedHeaders, whsecKey } from "../lib/webhooks.js";

/**
 * Scenario 7: resident memory of the real `keel start` (role all, child process). Idle RSS a
 * few seconds after it is ready; then sustained load on the same process — jobs enqueued through
 * the API and delivered by its own delivery worker to a local receiver, and signed webhooks
 * posted to its intake and forwarded to the same receiver — with RSS sampled throughout.
 * Growth is measured from the end of the first minute (warm-up) to the end.
 * BENCH_MEMORY_SECONDS overrides the 10-minute load.
 */
const MiB = 2 ** 20;
const JOBS_PER_TICK = 20;
const EVENTS_PER_TICK = 5;
const TICK_MS = 100;
const SECRET_VAR = "BENCH_MEMORY_INTAKE_SECRET";

export const memory: Scenario = {
  name: "memory",
  title: "7. Memory of keel start: idle, and over sustained load",
  target: "idle RSS < 120 MB; RSS growth < 10% from the end of warm-up to the end of the load",
  async run(ctx: BenchContext): Promise<ResultRow[]> {
    const seconds = Number(process.env.BENCH_MEMORY_SECONDS ?? (ctx.smoke ? 3 : 600));
    const warmSeconds = Math.min(60, seconds / 3);
    const sampleMs = ctx.smoke ? 500 : 5_000;
    const schema = benchSchema("memory");
    const signing = newWhsec();
    const intakeSecret = newWhsec();
    const adminToken = randomBytes(24).toString("hex");
    const dir = mkdtempSync(join(tmpdir(), "keel-bench-memory-"));
    const receiver = await startReceiver(signing);
    let keel: KeelChild | undefined;
    try {
      const config = join(dir, "keel.config.json");
      writeFileSync(
        config,
        JSON.stringify({
          sources: {
            mem: {
              provider: "standard",
              secrets: [`\${${SECRET_VAR}}`],
              routes: [{ events: ["*"], target: { url: receiver.url } }],
            },
          },
        }),
      );
      keel = await spawnKeel({
        DATABASE_URL: ctx.databaseUrl,
        KEEL_SCHEMA: schema,
        KEEL_ROLE: "all",
        KEEL_CONFIG: config,
        KEEL_SIGNING_SECRET: signing,
        KEEL_ADMIN_TOKEN: adminToken,
        [SECRET_VAR]: intakeSecret,
      });
      const base = `http://127.0.0.1:${keel.port}`;
      await sleep(ctx.smoke ? 1_000 : 5_000);
      const idle = rssBytes(keel.pid);
      ctx.log(`idle RSS ${(idle / MiB).toFixed(1)} MiB; load for ${seconds} s`);

      const samples: { t: number; rss: number }[] = [];
      const started = performance.now();
      const key = whsecKey(intakeSecret);
      let jobs = 0;
      let events = 0;
      let nextSample = 0;
      for (let tick = 0; performance.now() - started < seconds * 1000; tick++) {
        const due = started + tick * TICK_MS;
        const batch = Array.from({ length: JOBS_PER_TICK }, (_, i) => ({
          queue: "mem",
          target: { url: receiver.url },
          payload: { tick, i, data: "x".repeat(200) },
        }));
        const posts = Array.from({ length: EVENTS_PER_TICK }, (_, i) => {
          const id = `msg_${tick}_${i}`;
          const body = JSON.stringify({ type: "invoice.paid", id, data: "y".repeat(300) });
          return expectOk(
            fetch(`${base}/in/mem`, { method: "POST", headers: signedHeaders(key, id, body), body }),
            "intake",
          );
        });
        await Promise.all([
          expectOk(
            fetch(`${base}/v1/jobs/batch`, {
              method: "POST",
              headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}` },
              body: JSON.stringify({ jobs: batch }),
            }),
            "enqueue",
          ),
          ...posts,
        ]);
        jobs += JOBS_PER_TICK;
        events += EVENTS_PER_TICK;
        const elapsed = performance.now() - started;
        if (elapsed >= nextSample) {
          samples.push({ t: elapsed / 1000, rss: rssBytes(keel.pid) });
          nextSample += sampleMs;
        }
        const wait = due + TICK_MS - performance.now();
        if (wait > 0) await sleep(wait);
      }
      const end = rssBytes(keel.pid);
      samples.push({ t: (performance.now() - started) / 1000, rss: end });
      const loadSeconds = (performance.now() - started) / 1000;

      // Drain, then check every job and event was delivered exactly once.
      const expected = jobs + events;
      // The wait is a bound for the failure case, not a figure: a delivery that failed once
      // under a loaded CI machine retries after the default backoff (5 s, then 10 s, 20 s, …).
      const deadline = Date.now() + (ctx.smoke ? 120_000 : 300_000);
      let stats = await receiver.stats();
      while (stats.total < expected && Date.now() < deadline) {
        await sleep(200);
        stats = await receiver.stats();
      }
      if (stats.total !== expected || stats.distinct !== expected || stats.bad !== 0) {
        throw new Error(
          `expected ${expected} deliveries exactly once; receiver saw ${stats.total} (${stats.distinct} distinct, ${stats.bad} refused); Keel holds ${await jobStates(ctx.databaseUrl, schema)}`,
        );
      }

      // RSS saws up and down with garbage collection: windows of samples are compared, by their
      // median and by their floor (the low point after collections, where a leak would show).
      const window = Math.min(60, seconds / 3);
      const early = samples.filter((s) => s.t >= warmSeconds && s.t < warmSeconds + window).map((s) => s.rss);
      const late = samples.filter((s) => s.t >= loadSeconds - window).map((s) => s.rss);
      const warm = percentile(early, 50);
      const last = percentile(late, 50);
      const warmFloor = Math.min(...early);
      const lastFloor = Math.min(...late);
      const peak = Math.max(...samples.map((s) => s.rss));
      const growth = ((last - warm) / warm) * 100;
      const floorGrowth = ((lastFloor - warmFloor) / warmFloor) * 100;
      const note = `${(jobs / loadSeconds).toFixed(0)} jobs/s enqueued via POST /v1/jobs/batch and ${(events / loadSeconds).toFixed(0)} webhooks/s via /in/mem, all delivered exactly once to a local receiver; ${loadSeconds.toFixed(0)} s, a sample every ${sampleMs / 1000} s`;
      const row = (metric: string, value: number, unit: string, extra?: string): ResultRow => ({
        scenario: "memory",
        system: "keel start (role all)",
        metric,
        value,
        unit,
        note: extra,
      });
      ctx.log(
        `samples (s: MiB): ${samples.map((s) => `${s.t.toFixed(0)}:${(s.rss / MiB).toFixed(0)}`).join(" ")}`,
      );
      const span = `${warmSeconds.toFixed(0)}–${(warmSeconds + window).toFixed(0)} s`;
      return [
        row(
          "idle RSS",
          idle / MiB,
          "MiB",
          `VmRSS a few seconds after ready = ${(idle / 1e6).toFixed(1)} MB; target < 120 MB`,
        ),
        row(`RSS after warm-up (median ${span})`, warm / MiB, "MiB", note),
        row(`RSS at end (median of last ${window.toFixed(0)} s)`, last / MiB, "MiB"),
        row("peak RSS under load", peak / MiB, "MiB"),
        row(
          "RSS growth warm-up → end (medians)",
          Math.max(0, growth),
          "%",
          `signed: ${growth.toFixed(1)}%; target < 10%`,
        ),
        row(
          "RSS floor after warm-up → end (minima)",
          Math.max(0, floorGrowth),
          "%",
          `${(warmFloor / MiB).toFixed(0)} → ${(lastFloor / MiB).toFixed(0)} MiB, signed: ${floorGrowth.toFixed(1)}%`,
        ),
      ];
    } finally {
      await keel?.stop();
      await receiver.close();
      rmSync(dir, { recursive: true, force: true });
      await dropSchemas(ctx.databaseUrl, [schema]);
    }
  },
};

async function expectOk(response: Promise<Response>, what: string): Promise<void> {
  const res = await response;
  const text = await res.text();
  if (!res.ok) throw new Error(`${what}: ${res.status} ${text.slice(0, 300)}`);
}

/** Where the jobs are, for a failed check: unfinished by state and attempt, finished by state. */
async function jobStates(databaseUrl: string, schema: string): Promise<string> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ where: string; n: number }>(
      `select 'jobs ' || state || ' (attempt ' || attempt || ')' as where, count(*)::int as n
         from "${schema}".jobs group by 1
       union all
       select 'history ' || state, count(*)::int from "${schema}".job_history group by 1
       order by 1`,
    );
    return rows.map((r) => `${r.where}: ${r.n}`).join(", ") || "no jobs";
  } finally {
    await client.end();
  }
}
