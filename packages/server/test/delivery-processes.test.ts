/**
 * HTTP delivery by real `keel start --role worker` processes against one Postgres: the jobs
 * come out exactly once while leases hold, every request verifies with the standardwebhooks
 * package, and a worker killed with SIGKILL has its deliveries made by another after the lease.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { Engine } from "@keel/engine";
import { Webhook } from "standardwebhooks";
import { freshSchema, onCleanup, testDatabaseUrl, waitFor } from "../../engine/test/helpers.js";
import { newSecret, type Received, startEndpoint } from "./fixtures/delivery-servers.js";
import { guardServerLeaks, logLine, spawnKeel } from "./helpers.js";

guardServerLeaks();
const schema = freshSchema("dproc");
const engine = await Engine.connect({ migrate: true, connectionString: testDatabaseUrl(), schema });
onCleanup(() => engine.close());
const secret = newSecret();
const verifier = new Webhook(secret);

function unverifiable(r: Received): boolean {
  try {
    verifier.verify(r.body, {
      "webhook-id": String(r.headers["webhook-id"]),
      "webhook-timestamp": String(r.headers["webhook-timestamp"]),
      "webhook-signature": String(r.headers["webhook-signature"]),
    });
    return false;
  } catch {
    return true;
  }
}

function worker(extra: Record<string, string> = {}) {
  return spawnKeel(["start", "--role", "worker"], {
    DATABASE_URL: testDatabaseUrl(),
    KEEL_SCHEMA: schema,
    PORT: "0",
    KEEL_SIGNING_SECRET: secret,
    KEEL_LEASE_SECONDS: "5",
    KEEL_TARGET_VARIABLES: "HOOK_SECRET",
    ...extra,
  });
}

async function started(p: ReturnType<typeof worker>): Promise<void> {
  await waitFor(() => logLine(p, "keel started") ?? p.child.exitCode !== null, 30_000, "keel started");
  assert.ok(
    logLine(p, "keel started"),
    `keel did not start: ${JSON.stringify(p.lines)} ${p.other.join("\n")}`,
  );
}

test("one api and two worker processes: 300 jobs, 30% of first attempts fail, each delivered exactly once; no secret printed", async () => {
  const adminToken = `admin-${randomBytes(24).toString("hex")}`;
  const hookSecret = `hook-${randomBytes(16).toString("hex")}`;
  let wrongAuthorization = 0;
  const endpoint = await startEndpoint((req, res) => {
    if (req.headers.authorization !== `Bearer ${hookSecret}`) wrongAuthorization++;
    const failFirst = Number(req.headers["keel-job-id"]) % 10 < 3 && req.headers["keel-attempt"] === "1";
    // A little work per request, so one worker cannot drain the queue before the other joins.
    setTimeout(() => res.writeHead(failFirst ? 500 : 204).end(), 20);
  });
  onCleanup(() => endpoint.close());
  const api = spawnKeel(["start", "--role", "api"], {
    DATABASE_URL: testDatabaseUrl(),
    KEEL_SCHEMA: schema,
    PORT: "0",
    KEEL_ADMIN_TOKEN: adminToken,
    KEEL_SIGNING_SECRET: secret,
    KEEL_TARGET_VARIABLES: "HOOK_SECRET",
  });
  const a = worker({ HOOK_SECRET: hookSecret });
  const b = worker({ HOOK_SECRET: hookSecret });
  await Promise.all([started(api), started(a), started(b)]);
  const created = await fetch(`http://127.0.0.1:${logLine(api, "keel started")?.port}/v1/jobs/batch`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({
      jobs: Array.from({ length: 300 }, (_, i) => ({
        queue: "hooks",
        target: { url: `${endpoint.origin}/hook`, headers: { Authorization: "Bearer ${HOOK_SECRET}" } },
        payload: { i },
        backoff: { type: "fixed", delayMs: 200 },
      })),
    }),
  });
  assert.equal(created.status, 201, await created.clone().text());
  const { jobs } = (await created.json()) as { jobs: { id: string }[] };
  await waitFor(
    async () => (await engine.listQueues()).find((q) => q.name === "hooks")?.counts.succeeded === jobs.length,
    60_000,
    "all delivered",
  );
  const ok = endpoint.received.filter(
    (r) => !(Number(r.headers["keel-job-id"]) % 10 < 3 && r.headers["keel-attempt"] === "1"),
  );
  const perJob = new Map<string, number>();
  for (const r of ok)
    perJob.set(String(r.headers["keel-job-id"]), (perJob.get(String(r.headers["keel-job-id"])) ?? 0) + 1);
  assert.equal(perJob.size, 300);
  assert.deepEqual(new Set(perJob.values()), new Set([1]), "no job delivered twice");
  assert.equal(endpoint.received.filter(unverifiable).length, 0, "every request verifies");
  assert.equal(wrongAuthorization, 0, "the ${VAR} header resolved at delivery on every request");
  const workers = await engine.pool.query(
    `select count(distinct worker_id)::int n from "${schema}".job_tries`,
  );
  assert.equal(workers.rows[0].n, 2, "both processes delivered");
  const failed = await engine.pool.query(
    `select count(*)::int n from "${schema}".job_tries where outcome = 'failed' and response_status = 500`,
  );
  assert.equal(
    failed.rows[0].n,
    endpoint.received.length - 300,
    "every failed attempt recorded with its status",
  );
  for (const p of [api, a, b]) p.child.kill("SIGTERM");
  for (const p of [api, a, b]) assert.equal((await p.exited).code, 0);
  const printed = [api, a, b].map((p) => JSON.stringify(p.lines) + p.other.join("\n")).join("\n");
  for (const value of [adminToken, hookSecret, secret, secret.slice(6)]) {
    assert.ok(!printed.includes(value), "no token, signing secret or ${VAR} value in any output");
  }
  const stored = await engine.pool.query(
    `select (select count(*) from "${schema}".job_history where target::text like '%' || $1 || '%')
          + (select count(*) from "${schema}".job_tries where coalesce(error::text, '') || coalesce(response_body, '') like '%' || $1 || '%') as n`,
    [hookSecret],
  );
  assert.equal(Number(stored.rows[0].n), 0, "the resolved ${VAR} value is never stored");
});

test("a worker killed with SIGKILL mid-delivery: another delivers its jobs after the lease", async () => {
  // First attempts hang (the killed worker holds them); later attempts answer at once.
  const retriedAt: number[] = [];
  const endpoint = await startEndpoint((req, res) => {
    if (req.headers["keel-attempt"] === "1") return;
    retriedAt.push(Date.now());
    res.writeHead(200).end("ok");
  });
  onCleanup(() => endpoint.close());
  const a = worker();
  await started(a);
  await engine.enqueueMany(
    Array.from({ length: 10 }, () => ({ queue: "kill", target: { url: `${endpoint.origin}/slow` } })),
  );
  await waitFor(() => endpoint.received.length === 10, 20_000, "all ten in flight at worker a");
  // The other worker is up before the kill; it finds nothing to do until a's leases expire.
  const b = worker();
  await started(b);
  a.child.kill("SIGKILL");
  await a.exited;
  const killedAt = Date.now();
  await waitFor(
    async () => (await engine.listQueues()).find((q) => q.name === "kill")?.counts.succeeded === 10,
    30_000,
    "redelivered",
  );
  // Lease 5 s plus at most 5 s (the sweep runs every second).
  const lastRetry = Math.max(...retriedAt);
  assert.ok(lastRetry - killedAt <= 10_000, `redelivered ${lastRetry - killedAt} ms after the kill`);
  const attempts = await engine.pool.query(
    `select outcome, count(*)::int n from "${schema}".job_tries a join "${schema}".job_history h on h.id = a.job_id
     where h.queue = 'kill' group by outcome order by outcome`,
  );
  assert.deepEqual(attempts.rows, [
    { outcome: "lease_expired", n: 10 },
    { outcome: "succeeded", n: 10 },
  ]);
  assert.equal(endpoint.received.filter(unverifiable).length, 0);
  b.child.kill("SIGTERM");
  assert.equal((await b.exited).code, 0);
});

test("SIGTERM: readiness fails at once, the delivery in flight finishes, then the process exits 0", async () => {
  let answer: (() => void) | undefined;
  const endpoint = await startEndpoint((_req, res) => {
    answer = () => res.writeHead(200).end("done");
  });
  onCleanup(() => endpoint.close());
  const w = worker();
  await started(w);
  const port = logLine(w, "keel started")?.port as number;
  const { id } = await engine.enqueue({ queue: "drain", target: { url: `${endpoint.origin}/slow` } });
  await waitFor(() => answer !== undefined, 10_000, "the delivery in flight");
  w.child.kill("SIGTERM");
  await waitFor(
    async () => (await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined))?.status === 503,
    5_000,
    "readiness failing while draining",
  );
  assert.equal(w.child.exitCode, null, "still draining while the delivery runs");
  answer?.();
  assert.equal((await w.exited).code, 0);
  assert.equal((await engine.getJob(id)).state, "succeeded");
});
