import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, test } from "node:test";
import { createWorker, type Engine, NonRetryableError } from "@keel/engine";
import Fastify, { type FastifyInstance } from "fastify";
import { guardLeaks, testEngine, waitFor } from "../../engine/test/helpers.js";
import { KeelMetrics, registerMetricsRoute } from "../src/metrics/index.js";
import { guardServerLeaks, promtool, promtoolAvailable } from "./helpers.js";

// The engine comes from the engine's sources, the worker from the built package the server
// uses: guard both module instances against leaked workers and listeners.
guardLeaks();
guardServerLeaks();

const engine: Engine = await testEngine();

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (comments and blank lines skipped). */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[k as string] = v as string;
    samples.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The value of the one sample named `name` whose labels are exactly `labels`. */
function sampleValue(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const want = Object.entries(labels);
  const found = samples.filter(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).length === want.length &&
      want.every(([k, v]) => s.labels[k] === v),
  );
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)} appears ${found.length} times`);
  return found[0]?.value;
}

/** An app serving only /metrics, open (development, no token); closed when the file ends. */
function metricsApp(metrics: KeelMetrics): FastifyInstance {
  const app = Fastify();
  registerMetricsRoute(app, { metrics, token: undefined, production: false });
  after(() => app.close());
  return app;
}

async function scrape(app: FastifyInstance): Promise<{ text: string; samples: Sample[] }> {
  const res = await app.inject({ method: "GET", url: "/metrics" });
  assert.equal(res.statusCode, 200, res.body);
  assert.match(String(res.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
  return { text: res.body, samples: parse(res.body) };
}

/** A clock the test moves by hand, so the 1 s read cache can be stepped past without sleeping. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 0;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

// Ids 1, 2, 3 would coincide with bucket bounds and version numbers; start them far away.
await engine.pool.query(`alter table "${engine.schema}".jobs alter column id restart with 7340032001`);

// One worker run feeds the tests below: a success, a failure that retries, two dead jobs.
const clock = manualClock();
const metrics = new KeelMetrics({ engine, switches: () => engine.switches.list(), now: clock.now });
const app = metricsApp(metrics);
const jobs = await engine.enqueueMany([
  { queue: "mail", target: { handler: "ok" }, tenant: "tenant-acme" },
  {
    queue: "mail",
    target: { handler: "flaky" },
    maxAttempts: 3,
    backoff: { type: "fixed", delayMs: 60_000 },
  },
  { queue: "mail", target: { handler: "flaky" }, maxAttempts: 1 },
  { queue: "mail", target: { handler: "poison" }, maxAttempts: 5 },
  // Nobody works this queue: it shows a waiting job and a latency.
  { queue: "idle", target: { handler: "ok" }, tenant: "tenant-globex" },
]);
const jobIds = jobs.map((j) => j.id);
await engine.switches.set("process:idle", false, { actor: "metrics-test" });

const worker = createWorker({
  engine,
  queues: ["mail"],
  leaseMs: 5_000,
  maintenance: false,
  hooks: metrics.workerHooks(),
  handlers: {
    ok: () => "done",
    flaky: () => {
      throw new Error("connection reset");
    },
    poison: () => {
      throw new NonRetryableError("customer deleted");
    },
  },
});
await worker.start();
try {
  await waitFor(async () => (await jobsEnded()) === 4, 10_000, "four job attempts to end");
} finally {
  await worker.stop();
}
// A completion with a made-up lease token: the engine refuses it as stale.
await engine.complete([{ id: jobIds[3] as string, leaseToken: randomUUID() }]);
clock.advance(1_000);
const run = await scrape(app);

/** Job attempts the hooks have counted so far (the counter itself, not a side channel). */
async function jobsEnded(): Promise<number> {
  const { values } = await metrics.jobs.get();
  return values.reduce((sum, v) => sum + v.value, 0);
}

test("worker hooks count jobs by outcome and time them", () => {
  const { samples } = run;
  const count = (outcome: string) => sampleValue(samples, "keel_jobs_total", { queue: "mail", outcome });
  assert.equal(count("succeeded"), 1);
  assert.equal(count("failed"), 1, "the job with attempts left went back to retry");
  assert.equal(count("dead"), 2, "out of attempts, and NonRetryableError");
  for (const outcome of ["lease_lost", "released", "stale"]) assert.equal(count(outcome), 0);
  assert.equal(sampleValue(samples, "keel_job_duration_seconds_count", { queue: "mail" }), 4);
  assert.equal(sampleValue(samples, "keel_job_duration_seconds_bucket", { queue: "mail", le: "+Inf" }), 4);
  assert.equal(sampleValue(samples, "keel_job_duration_seconds_bucket", { queue: "mail", le: "600" }), 4);
  const sum = sampleValue(samples, "keel_job_duration_seconds_sum", { queue: "mail" }) ?? 0;
  assert.ok(sum > 0 && sum < 10, `duration sum ${sum} s`);
  assert.equal(sampleValue(samples, "keel_job_duration_seconds_count", { queue: "idle" }), undefined);
});

test("queue depth and latency gauges match engine.listQueues()", async () => {
  const { samples } = run;
  const queues = await engine.listQueues();
  assert.deepEqual(queues.map((q) => q.name).sort(), ["idle", "mail"]);
  for (const q of queues) {
    for (const state of ["scheduled", "available", "running", "dead"] as const) {
      assert.equal(
        sampleValue(samples, "keel_queue_depth", { queue: q.name, state }),
        q.counts[state],
        `${q.name} ${state}`,
      );
    }
    const latency = sampleValue(samples, "keel_queue_latency_seconds", { queue: q.name }) ?? -1;
    assert.ok(Math.abs(latency - q.oldestReadyAgeSeconds) < 2, `${q.name} latency ${latency}`);
  }
  const mail = queues.find((q) => q.name === "mail");
  assert.deepEqual(
    [mail?.counts.scheduled, mail?.counts.available, mail?.counts.dead],
    [1, 0, 2],
    "the run left one retry and two dead jobs",
  );
  assert.ok((sampleValue(samples, "keel_queue_latency_seconds", { queue: "idle" }) ?? 0) > 0);
  assert.equal(sampleValue(samples, "keel_queue_depth", { queue: "idle", state: "available" }), 1);
});

test("switch states, stale lease rejections and deliveries are exported", async () => {
  const { samples } = run;
  assert.equal(sampleValue(samples, "keel_switch_state", { switch: "process:idle" }), 0);
  assert.ok(engine.stats.staleLeaseRejections >= 1);
  assert.equal(sampleValue(samples, "keel_lease_rejections_total"), engine.stats.staleLeaseRejections);
  assert.equal(sampleValue(samples, "keel_metrics_scrape_errors_total"), 0);
  assert.ok((sampleValue(samples, "keel_process_start_time_seconds") ?? 0) > 0, "default process metrics");
  for (const statusClass of ["2xx", "3xx", "4xx", "5xx", "network", "timeout"]) {
    assert.equal(sampleValue(samples, "keel_deliveries_total", { status_class: statusClass }), 0);
  }
  metrics.recordDelivery("5xx");
  const later = (await scrape(app)).samples;
  assert.equal(sampleValue(later, "keel_deliveries_total", { status_class: "5xx" }), 1);
});

test("no label value is a job id or a tenant", () => {
  const forbidden = new Set([...jobIds, "tenant-acme", "tenant-globex"]);
  assert.ok(
    jobIds.every((id) => id.length >= 10),
    "ids no bucket bound could match by chance",
  );
  const { samples } = run;
  assert.ok(samples.length > 50);
  for (const s of samples) {
    for (const [label, value] of Object.entries(s.labels)) {
      assert.ok(!forbidden.has(value), `${s.name}{${label}="${value}"} carries a job id or tenant`);
    }
  }
  const names = new Set(samples.map((s) => s.name));
  for (const name of names) assert.match(name, /^keel_/, "every metric has the keel_ prefix");
});

test("docs/metrics.md documents every metric Keel registers, and only those", async () => {
  // prom-client's process and Node.js defaults are listed by example in the Process section.
  const defaults = /^keel_(process|nodejs)_/;
  const all = new KeelMetrics({ engine, backups: async () => [] });
  const registered = (await all.registry.getMetricsAsJSON())
    .map((m) => m.name)
    .filter((n) => !defaults.test(n));
  const doc = readFileSync(new URL("../../../docs/metrics.md", import.meta.url), "utf8");
  const documented = [...doc.matchAll(/^\| `(keel_[a-z0-9_]+)`/gm)].map((m) => m[1] as string);
  assert.deepEqual([...new Set(documented)].sort(), [...new Set(registered)].sort());
});

test("promtool check metrics passes the real output without lint complaints", async (t) => {
  if (!promtoolAvailable(t)) return;
  assert.ok(run.text.includes("keel_jobs_total{"), "the exposition under check has job samples");
  const { code, output } = await promtool(run.text);
  assert.equal(output.trim(), "", "promtool printed complaints");
  assert.equal(code, 0);
});

test("the database is read at most once per second, once for concurrent scrapes", async () => {
  let reads = 0;
  const c = manualClock();
  const counted = new KeelMetrics({
    engine: {
      stats: engine.stats,
      listQueues: () => {
        reads++;
        return engine.listQueues();
      },
    },
    now: c.now,
  });
  const a = metricsApp(counted);
  await Promise.all([scrape(a), scrape(a), scrape(a)]);
  assert.equal(reads, 1);
  c.advance(999);
  await scrape(a);
  assert.equal(reads, 1, "still cached");
  c.advance(1);
  await Promise.all([scrape(a), scrape(a)]);
  assert.equal(reads, 2);
});

test("a failed or slow database read keeps the last values and is counted, never a 500", async () => {
  const other = await testEngine();
  await other.enqueue({ queue: "kept", target: { handler: "h" } });
  const c = manualClock();
  const errors: string[] = [];
  const failing = new KeelMetrics({
    engine: other,
    now: c.now,
    readTimeoutMs: 300,
    onScrapeError: (_err, source) => errors.push(source),
  });
  const a = metricsApp(failing);
  const kept = { queue: "kept", state: "available" };
  assert.equal(sampleValue((await scrape(a)).samples, "keel_queue_depth", kept), 1);

  // A lock held by another transaction stalls the read past its timeout.
  const blocker = await other.pool.connect();
  try {
    await blocker.query("begin");
    await blocker.query(`lock table "${other.schema}".jobs in access exclusive mode`);
    c.advance(1_000);
    const slow = (await scrape(a)).samples;
    assert.equal(sampleValue(slow, "keel_queue_depth", kept), 1, "last value kept");
    assert.equal(sampleValue(slow, "keel_metrics_scrape_errors_total"), 1);
  } finally {
    await blocker.query("rollback");
    blocker.release();
  }

  await other.close();
  c.advance(1_000);
  const down = (await scrape(a)).samples;
  assert.equal(sampleValue(down, "keel_queue_depth", kept), 1, "last value kept");
  assert.equal(sampleValue(down, "keel_metrics_scrape_errors_total"), 2);
  assert.deepEqual(errors, ["queues", "queues"]);
});
