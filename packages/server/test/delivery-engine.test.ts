import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, test } from "node:test";
import { Engine, type JobRecord, type Worker } from "@keel/engine";
import { Webhook } from "standardwebhooks";
import { freshSchema, testDatabaseUrl, waitFor } from "../../engine/test/helpers.js";
import { deliveryStatusClass, startDeliveryWorker } from "../src/delivery/deliver.js";
import { newSecret, type Received, startEndpoint } from "./fixtures/delivery-servers.js";
import { guardServerLeaks } from "./helpers.js";

const engine = await Engine.connect({
  migrate: true,
  connectionString: testDatabaseUrl(),
  schema: freshSchema("delivery"),
});
after(() => engine.close());
// After the close above: file-level hooks run in the order they were registered.
guardServerLeaks();

const [currentSecret, previousSecret] = [newSecret(), newSecret()];
// Read by `${DELIVERY_TEST_TOKEN}` at delivery time; must never reach the database.
const token = `tok_${randomBytes(16).toString("hex")}`;
process.env.DELIVERY_TEST_TOKEN = token;
after(() => delete process.env.DELIVERY_TEST_TOKEN);

/** Attempts per `keel_deliveries_total` status class, as the onResult hook saw them. */
const classes = new Map<string, number>();

function start(queues: string[]): Promise<Worker> {
  classes.clear();
  return startDeliveryWorker({
    engine,
    queues,
    concurrency: 10,
    // Rotation: both sign; the receiver below knows only the previous one.
    signingSecrets: [currentSecret, previousSecret],
    production: false,
    timeoutMs: 5_000,
    variables: { allow: ["DELIVERY_TEST_*"] },
    worker: { pollIntervalMs: 100 },
    onResult: (result) => {
      const statusClass = deliveryStatusClass(result) ?? "not sent";
      classes.set(statusClass, (classes.get(statusClass) ?? 0) + 1);
    },
  });
}

/** Every text column of every row of Keel's job tables, as one string per table. */
async function tableText(table: "jobs" | "job_history" | "attempts"): Promise<string> {
  const { rows } = await engine.pool.query<{ text: string | null }>(
    `select string_agg(t::text, E'\\n') as text from "${engine.schema}".${table} t`,
  );
  return rows[0]?.text ?? "";
}

test("50 signed deliveries, 30% of first attempts failing: all succeed, every request verifies", async () => {
  await engine.upsertQueue("e2e", { backoff: { type: "fixed", delayMs: 100 }, maxAttempts: 5 });
  const verifier = new Webhook(previousSecret);
  const accepted: (Received & { n: number })[] = [];
  let unverifiable = 0;
  const receiver = await startEndpoint((req, res) => {
    let n: number;
    try {
      n = (verifier.verify(req.body, req.headers as Record<string, string>) as { n: number }).n;
    } catch {
      unverifiable++;
      res.writeHead(400).end("bad signature");
      return;
    }
    accepted.push({ ...req, n });
    if (req.headers.authorization !== `Bearer ${token}`) res.writeHead(401).end("bad token");
    else if (n % 10 < 3 && req.headers["keel-attempt"] === "1") res.writeHead(500).end(`fail ${n}`);
    else res.end(`ok ${n}`);
  });
  after(() => receiver.close());

  const jobs = await engine.enqueueMany(
    Array.from({ length: 50 }, (_, n) => ({
      queue: "e2e",
      target: {
        url: `${receiver.origin}/hook/${n}`,
        headers: { authorization: "Bearer ${DELIVERY_TEST_TOKEN}" },
      },
      payload: { n },
      tenant: n % 2 ? "acme" : undefined,
    })),
  );
  const worker = await start(["e2e"]);
  try {
    await waitFor(
      async () => (await engine.listQueues()).find((q) => q.name === "e2e")?.counts.succeeded === 50,
      30_000,
      "50 succeeded deliveries",
    );
  } finally {
    await worker.stop();
  }

  assert.equal(unverifiable, 0);
  assert.equal(accepted.length, 65, "50 first attempts + 15 retries");
  let attempts = 0;
  for (const [n, { id }] of jobs.entries()) {
    const job: JobRecord = await engine.getJob(id);
    const failsFirst = n % 10 < 3;
    const seen = accepted.filter((r) => r.n === n);
    assert.equal(job.state, "succeeded");
    assert.equal(job.attempt, failsFirst ? 2 : 1, `job ${n}`);
    assert.deepEqual(
      seen.map((r) => [r.headers["webhook-id"], r.headers["keel-job-id"], r.headers["keel-attempt"], r.url]),
      seen.map((_, i) => [`msg_${id}`, id, String(i + 1), `/hook/${n}`]),
      "webhook-id stable across attempts",
    );
    assert.equal(seen[0]?.headers["keel-tenant"], n % 2 ? "acme" : undefined);
    assert.deepEqual(
      job.attempts.map((a) => [a.outcome, a.responseStatus, a.responseBody, typeof a.latencyMs]),
      [
        ...(failsFirst ? [["failed", 500, `fail ${n}`, "number"]] : []),
        ["succeeded", 200, `ok ${n}`, "number"],
      ],
    );
    if (failsFirst) assert.equal(job.attempts[0]?.error?.code, "delivery_status");
    attempts += job.attempts.length;
  }
  assert.equal(attempts, 65, "recorded attempts match the requests received");
  assert.deepEqual(Object.fromEntries(classes), { "2xx": 50, "5xx": 15 });

  const stored = (await tableText("jobs")) + (await tableText("job_history")) + (await tableText("attempts"));
  assert.ok(stored.includes("${DELIVERY_TEST_TOKEN}"), "the template is what is stored");
  assert.ok(!stored.includes(token), "the resolved value is never stored");
});

test("410 is dead at once, 429 Retry-After: 120 waits ~120 s, 500 retries until dead, a missing variable retries", async () => {
  await engine.upsertQueue("outcomes", { backoff: { type: "fixed", delayMs: 100 }, maxAttempts: 3 });
  const receiver = await startEndpoint((req, res) => {
    if (req.url === "/gone") res.writeHead(410).end("unsubscribed");
    else if (req.url === "/later") res.writeHead(429, { "retry-after": "120" }).end("slow down");
    else res.writeHead(500).end("broken");
  });
  after(() => receiver.close());
  const target = (path: string, headers?: Record<string, string>) => ({
    queue: "outcomes",
    target: { url: `${receiver.origin}${path}`, ...(headers ? { headers } : {}) },
    payload: { path },
  });
  const [gone, later, broken, missing] = await engine.enqueueMany([
    target("/gone"),
    target("/later"),
    target("/broken"),
    target("/missing", { "x-api-key": "${DELIVERY_TEST_MISSING}" }),
  ]);
  assert.ok(gone && later && broken && missing);
  const worker = await start(["outcomes"]);
  let jobs: JobRecord[];
  try {
    jobs = await waitFor(
      async () => {
        const all = await Promise.all([gone, later, broken, missing].map((j) => engine.getJob(j.id)));
        const [g, l, b, m] = all;
        const settled =
          g?.state === "dead" && l?.attempts.length === 1 && b?.state === "dead" && m?.state === "dead";
        return settled ? all : undefined;
      },
      20_000,
      "every outcome",
    );
  } finally {
    await worker.stop();
  }
  const [g, l, b, m] = jobs as [JobRecord, JobRecord, JobRecord, JobRecord];

  assert.equal(g.attempt, 1, "410 is not retried");
  assert.equal(g.attempts[0]?.responseStatus, 410);
  assert.equal(g.attempts[0]?.responseBody, "unsubscribed");
  assert.equal(g.lastError?.code, "delivery_gone");

  assert.equal(l.state, "scheduled");
  assert.equal(l.attempts[0]?.responseStatus, 429);
  assert.equal(l.lastError?.code, "delivery_retry_after");
  const waitS = (l.runAt.getTime() - (l.attempts[0]?.finishedAt.getTime() ?? 0)) / 1000;
  assert.ok(waitS > 119 && waitS < 121, `retry scheduled ${waitS}s after the attempt`);

  assert.deepEqual(
    b.attempts.map((a) => [a.outcome, a.responseStatus]),
    [
      ["failed", 500],
      ["failed", 500],
      ["failed", 500],
    ],
  );

  // A missing variable is an ordinary failure (set it, restart, the retry delivers): never sent.
  assert.equal(m.attempts.length, 3);
  assert.equal(m.lastError?.code, "delivery_variable_missing");
  assert.match(m.lastError?.message ?? "", /\$\{DELIVERY_TEST_MISSING\}, which is not set/);
  assert.equal(m.attempts[0]?.responseStatus, null);
  assert.ok(!receiver.received.some((r) => r.url === "/missing"));
  assert.deepEqual(Object.fromEntries([...classes].sort()), { "4xx": 2, "5xx": 3, "not sent": 3 });
});
