import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Engine, isKeelError, normalizeSchedule, validateSource } from "@keel/engine";
import { Agent } from "undici";
import { deferred, freshSchema, testDatabaseUrl, waitFor } from "../../engine/test/helpers.js";
import { loadConfigFile } from "../src/config/file.js";
import { startDeliveryWorker } from "../src/delivery/deliver.js";
import { attemptTimeoutMs, sendDelivery } from "../src/delivery/request.js";
import { parseSigningSecrets } from "../src/delivery/signing.js";
import { startKeel } from "../src/runtime/start.js";
import { contractCheckedApi } from "./api-harness.js";
import { attemptTo, newSecret, type Respond, startEndpoint } from "./fixtures/delivery-servers.js";
import { guardServerLeaks, memoryLogger } from "./helpers.js";

const engine = await Engine.connect({
  migrate: true,
  connectionString: testDatabaseUrl(),
  schema: freshSchema("timeouts"),
});
after(() => engine.close());
guardServerLeaks();

async function endpoint(respond: Respond) {
  const e = await startEndpoint(respond);
  after(() => e.close());
  return e;
}

/** An endpoint that takes every request and never answers; `open` counts those still waiting. */
async function neverAnswers() {
  const state = { open: 0, ended: 0 };
  const e = await endpoint((_req, res) => {
    state.open++;
    res.on("close", () => {
      state.open--;
      state.ended++;
    });
  });
  return Object.assign(e, { state });
}

function queueCounts(name: string) {
  return engine.listQueues().then((qs) => qs.find((q) => q.name === name)?.counts);
}

describe("one definition of the attempt timeout", () => {
  test("targets, queues, schedules, routes and the config file accept 1 s to 1 h; outside is refused", async () => {
    const url = "https://app.example.com/cron";
    const fifteenMinutes = 15 * 60_000;
    await engine.enqueue({ queue: "accepts", target: { url, timeoutMs: fifteenMinutes } });
    await engine.upsertQueue("accepts", { deliveryTimeoutMs: 3_600_000 });
    assert.equal((await engine.listQueues()).find((q) => q.name === "accepts")?.deliveryTimeoutMs, 3_600_000);
    for (const timeoutMs of [999, 3_600_001, 1.5, -1]) {
      await assert.rejects(
        engine.enqueue({ target: { url, timeoutMs } }),
        (err) => isKeelError(err) && err.code === "invalid_target" && /target\.timeoutMs/.test(err.message),
        String(timeoutMs),
      );
      await assert.rejects(
        engine.upsertQueue("refuses", { deliveryTimeoutMs: timeoutMs }),
        (err) => isKeelError(err) && /settings\.deliveryTimeoutMs/.test(err.message),
        String(timeoutMs),
      );
    }
    const schedule = normalizeSchedule(
      "nightly",
      { cron: "0 3 * * *", target: { url, timeoutMs: 300_000 } },
      { payloadLimitBytes: 1024 },
    );
    assert.deepEqual(schedule.target, { url, timeoutMs: 300_000 });
    assert.throws(
      () =>
        normalizeSchedule(
          "nightly",
          { cron: "0 3 * * *", target: { url, timeoutMs: 10 } },
          { payloadLimitBytes: 1024 },
        ),
      (err) => isKeelError(err) && err.code === "invalid_target",
    );
    const source = validateSource("stripe", {
      provider: "stripe",
      secrets: ["whsec_test"],
      routes: [{ events: ["*"], target: { url, timeoutMs: 120_000 } }],
    });
    assert.deepEqual(source.routes?.[0]?.target, { url, timeoutMs: 120_000 });
    assert.throws(() =>
      validateSource("stripe", {
        provider: "stripe",
        secrets: ["whsec_test"],
        routes: [{ events: ["*"], target: { url, timeoutMs: 7_200_000 } }],
      }),
    );

    const dir = mkdtempSync(join(tmpdir(), "keel-timeouts-"));
    const file = join(dir, "keel.config.yaml");
    writeFileSync(file, "queues:\n  cron: { deliveryTimeoutMs: 300000 }\n");
    assert.deepEqual((await loadConfigFile({ file })).config.queues, {
      cron: { deliveryTimeoutMs: 300_000 },
    });
    writeFileSync(file, "queues:\n  cron: { deliveryTimeoutMs: 500 }\n");
    await assert.rejects(loadConfigFile({ file }), /deliveryTimeoutMs/);
  });

  test("the API takes timeoutMs in targets and shows a queue's deliveryTimeoutMs", async () => {
    const api = await contractCheckedApi();
    const url = "https://app.example.com/cron";
    const ok = await api.call("POST", "/v1/jobs", { queue: "cron", target: { url, timeoutMs: 300_000 } });
    assert.equal(ok.statusCode, 201, ok.body);
    const { id } = ok.json() as { id: string };
    const job = await api.call("GET", `/v1/jobs/${id}`);
    assert.equal((job.json() as { target: { timeoutMs?: number } }).target.timeoutMs, 300_000);
    const refused = await api.call("POST", "/v1/jobs", { target: { url, timeoutMs: 10 } });
    assert.equal(refused.statusCode, 400);
    assert.match(refused.body, /timeoutMs/);
    await api.engine.upsertQueue("cron", { deliveryTimeoutMs: 600_000 });
    const queues = (await api.call("GET", "/v1/queues")).json() as {
      queues: { name: string; deliveryTimeoutMs: number | null }[];
    };
    assert.deepEqual(
      queues.queues.map((q) => [q.name, q.deliveryTimeoutMs]),
      [["cron", 600_000]],
    );
  });

  test("precedence: the target's timeoutMs, else the queue's deliveryTimeoutMs, else the deliverer's", async () => {
    const e = await neverAnswers();
    await engine.upsertQueue("slow-queue", { deliveryTimeoutMs: 2_500, maxAttempts: 1 });
    await engine.upsertQueue("plain-queue", { maxAttempts: 1 });
    const [own, fromQueue, fallback] = await engine.enqueueMany([
      { queue: "slow-queue", target: { url: `${e.origin}/own`, timeoutMs: 1_500 } },
      { queue: "slow-queue", target: { url: `${e.origin}/queue` } },
      { queue: "plain-queue", target: { url: `${e.origin}/default` } },
    ]);
    const worker = await startDeliveryWorker({
      engine,
      queues: ["slow-queue", "plain-queue"],
      signingSecrets: [newSecret()],
      production: false,
      timeoutMs: 1_000,
      worker: { pollIntervalMs: 50 },
    });
    try {
      await waitFor(
        async () =>
          (await queueCounts("slow-queue"))?.dead === 2 && (await queueCounts("plain-queue"))?.dead === 1,
        15_000,
        "three timed-out attempts",
      );
    } finally {
      await worker.stop();
    }
    for (const [job, limit] of [
      [own, 1_500],
      [fromQueue, 2_500],
      [fallback, 1_000],
    ] as const) {
      const [attempt] = (await engine.getJob(job?.id as string)).attempts;
      assert.equal(attempt?.error?.code, "delivery_timeout");
      assert.match(attempt?.error?.message ?? "", new RegExp(`within ${limit} ms`));
      const latency = attempt?.latencyMs ?? 0;
      assert.ok(latency >= limit - 5 && latency < limit + 2_000, `${limit}: cut after ${latency} ms`);
    }
  });

  test("a queue created while the deliverer runs gets its deliveryTimeoutMs on its first attempt", async () => {
    const e = await neverAnswers();
    const ok = await endpoint((_req, res) => res.end("ok"));
    await engine.upsertQueue("early-queue", { maxAttempts: 1 });
    const worker = await startDeliveryWorker({
      engine,
      queues: "*",
      signingSecrets: [newSecret()],
      production: false,
      timeoutMs: 5_000,
      worker: { pollIntervalMs: 50 },
    });
    try {
      // The deliverer has read the queues' settings once; the next queue is new to it.
      await engine.enqueue({ queue: "early-queue", target: { url: ok.origin } });
      await waitFor(
        async () => (await queueCounts("early-queue"))?.succeeded === 1,
        10_000,
        "a first delivery",
      );
      await engine.upsertQueue("late-queue", { deliveryTimeoutMs: 1_200, maxAttempts: 1 });
      const { id } = await engine.enqueue({ queue: "late-queue", target: { url: e.origin } });
      await waitFor(async () => (await engine.getJob(id)).state === "dead", 10_000, "the attempt timed out");
      const [attempt] = (await engine.getJob(id)).attempts;
      assert.match(attempt?.error?.message ?? "", /within 1200 ms/);
    } finally {
      await worker.stop();
    }
  });

  test("undici's own header and body timeouts do not cut an attempt that its timeout allows", async () => {
    // An agent whose limits (300 s by default) are far shorter than the attempt's timeout; undici
    // checks them on a coarse (about 1 s) timer, hence pauses of 1.5 s.
    const agent = new Agent({ headersTimeout: 300, bodyTimeout: 300 });
    after(() => agent.close());
    const e = await endpoint((_req, res) => {
      setTimeout(() => {
        res.writeHead(200);
        res.write("slow ");
        setTimeout(() => res.end("but within its timeout"), 1_500);
      }, 1_500);
    });
    const result = await sendDelivery(attemptTo({ url: e.origin, timeoutMs: 10_000 }), {
      dispatcher: agent,
      signingKeys: parseSigningSecrets([newSecret()]),
    });
    assert.equal(result.error, undefined);
    assert.equal(result.body, "slow but within its timeout");
    assert.ok(result.latencyMs >= 2_900, `${result.latencyMs} ms`);
  });

  test("attemptTimeoutMs: target, then fallback, then 30 s", () => {
    assert.equal(attemptTimeoutMs({ url: "http://x", timeoutMs: 300_000 }, 60_000), 300_000);
    assert.equal(attemptTimeoutMs({ url: "http://x" }, 60_000), 60_000);
    assert.equal(attemptTimeoutMs({ url: "http://x" }, null), 30_000);
  });
});

function keelEnv(schema: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { DATABASE_URL: testDatabaseUrl(), KEEL_SCHEMA: schema, PORT: "0", ...extra };
}

test("an attempt running for several lease periods is delivered once: heartbeats keep its lease", async () => {
  // Heartbeats come every third of a lease, so a lease is lost only when three in a row are late:
  // 8 s leases leave more than 5 s for a loaded CI machine to run one (5 s left 3.3 s, and a
  // busy run once missed it).
  const LEASE_SECONDS = 8;
  // The endpoint answers after 2.2 leases: without heartbeats the lease would have expired and
  // either process's sweep would have handed the job out again.
  const answerAfterMs = LEASE_SECONDS * 1000 * 2.2;
  const schema = freshSchema("lease");
  const leases: Date[] = [];
  const answered = deferred();
  let keels: Awaited<ReturnType<typeof startKeel>>[] = [];
  const leaseUntil = async () => {
    const { rows } = (await keels[0]?.engine.pool.query<{ lease_until: Date }>(
      `select lease_until from "${schema}".jobs where lease_until is not null`,
    )) ?? { rows: [] };
    return rows[0]?.lease_until;
  };
  const e = await endpoint((_req, res) => {
    void leaseUntil().then((l) => l && leases.push(l));
    setTimeout(async () => {
      const l = await leaseUntil();
      if (l) leases.push(l);
      res.end("done");
      answered.resolve();
    }, answerAfterMs);
  });
  const options = (extra: object) => ({
    env: keelEnv(schema, { KEEL_LEASE_SECONDS: String(LEASE_SECONDS) }),
    role: "worker",
    host: "127.0.0.1",
    logger: memoryLogger().logger,
    timers: { sweepIntervalMs: 50 },
    shutdownTimeoutMs: 0,
    ...extra,
  });
  keels = [await startKeel(options({})), await startKeel(options({}))];
  try {
    const first = keels[0] as (typeof keels)[number];
    const { id } = await first.engine.enqueue({
      queue: "cron",
      target: { url: `${e.origin}/api/cron/maintenance`, timeoutMs: 60_000 },
    });
    await answered.promise;
    await waitFor(
      async () => (await first.engine.getJob(id)).state === "succeeded",
      5_000,
      "the job succeeded",
    );
    const job = await first.engine.getJob(id);
    assert.equal(e.received.length, 1, "the endpoint was called once");
    assert.equal(job.attempt, 1);
    assert.deepEqual(
      job.attempts.map((a) => a.outcome),
      ["succeeded"],
    );
    const [start, end] = [leases[0], leases.at(-1)];
    assert.ok(start && end, "lease read at the start and end of the call");
    assert.ok(end.getTime() - start.getTime() >= LEASE_SECONDS * 1000, "heartbeats moved the lease on");
  } finally {
    for (const keel of keels) await keel.stop();
  }
});

test("keel start: 60 endpoints that never answer in one queue do not stall another queue", async () => {
  const schema = freshSchema("fair");
  const hog = await neverAnswers();
  const prompt = await endpoint((_req, res) => res.end("ok"));
  const keel = await startKeel({
    env: keelEnv(schema),
    role: "worker",
    host: "127.0.0.1",
    logger: memoryLogger().logger,
    shutdownTimeoutMs: 0,
  });
  try {
    const { engine: own } = keel;
    const count = async (queue: string) => (await own.listQueues()).find((q) => q.name === queue)?.counts;
    await own.enqueueMany(
      Array.from({ length: 60 }, (_, i) => ({
        queue: "cron",
        target: { url: `${hog.origin}/cron/${i}`, timeoutMs: 600_000 },
      })),
    );
    // The hog holds its share of the process's 40 slots: half.
    await waitFor(() => hog.state.open === 20, 10_000, "20 calls to the endpoints that never answer");
    await own.enqueueMany(
      Array.from({ length: 100 }, (_, i) => ({ queue: "email", target: { url: `${prompt.origin}/${i}` } })),
    );
    await waitFor(async () => (await count("email"))?.succeeded === 100, 20_000, "100 email deliveries");
    assert.equal(hog.state.open, 20, "the hog never got more slots");
    assert.equal(hog.state.ended, 0, "no hog attempt ended: email was delivered beside them, not after them");
    assert.equal((await count("cron"))?.running, 20);
  } finally {
    await keel.stop();
  }
});
