import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { guardLeaks } from "../../engine/test/helpers.js";
import { fingerprint } from "../src/api/idempotency.js";
import { contractCheckedApi } from "./api-harness.js";

guardLeaks();
const { engine, app, call, lastAudit } = await contractCheckedApi({
  payloadLimitBytes: 4096,
  targetVariables: ["API_KEY"],
});

describe("POST /v1/jobs", () => {
  test("enqueues: 201 with id and state; delay and runAt schedule", async () => {
    const now = await call("POST", "/v1/jobs", {
      queue: "mail",
      target: { handler: "send" },
      payload: { to: 1 },
    });
    assert.equal(now.statusCode, 201);
    assert.deepEqual(Object.keys(now.json()), ["id", "state", "deduplicated"]);
    assert.equal(now.json().state, "available");
    const later = await call("POST", "/v1/jobs", { target: { handler: "send" }, delay: 60_000 });
    assert.equal(later.json().state, "scheduled");
    const at = await call("POST", "/v1/jobs", {
      target: { handler: "send" },
      runAt: "2099-01-01T00:00:00+02:00",
    });
    assert.equal(at.json().state, "scheduled");
  });

  test("a live duplicate dedupeKey answers 200 with the existing id", async () => {
    const job = { queue: "dedupe", target: { handler: "h" }, dedupeKey: "order-7" };
    const first = await call("POST", "/v1/jobs", job);
    const again = await call("POST", "/v1/jobs", job);
    assert.equal(again.statusCode, 200);
    assert.deepEqual(again.json(), { id: first.json().id, state: "available", deduplicated: true });
  });

  test("the audit log records who, what and from where, never the payload", async () => {
    const res = await call("POST", "/v1/jobs", {
      queue: "audited",
      target: { url: "https://hooks.example.com/x?sig=abc" },
      payload: { card: "4242" },
    });
    const entry = await lastAudit();
    assert.equal(entry?.action, "job.create");
    assert.equal(entry?.actor, "api:token:admin");
    assert.equal(entry?.source, "127.0.0.1");
    assert.equal(entry?.target, `job:${res.json().id}`);
    assert.deepEqual(entry?.details, { queue: "audited", url: "https://hooks.example.com" });
  });

  test("a switched-off queue answers 503 enqueue_disabled", async () => {
    await engine.switches.set("enqueue:frozen", false, { actor: "test" });
    const res = await call("POST", "/v1/jobs", { queue: "frozen", target: { handler: "h" } });
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().error.code, "enqueue_disabled");
  });

  test("the engine's payload limit answers 413 payload_too_large", async () => {
    const res = await call("POST", "/v1/jobs", { target: { handler: "h" }, payload: "x".repeat(5000) });
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().error.code, "payload_too_large");
  });
});

describe("POST /v1/jobs/batch", () => {
  test("enqueues in input order; duplicates inside the batch share one job", async () => {
    const jobs = [
      { queue: "batch", target: { handler: "a" }, dedupeKey: "k" },
      { queue: "batch", target: { handler: "b" } },
      { queue: "batch", target: { handler: "c" }, dedupeKey: "k" },
    ];
    const res = await call("POST", "/v1/jobs/batch", { jobs });
    assert.equal(res.statusCode, 201);
    const out = res.json().jobs;
    assert.equal(out.length, 3);
    assert.equal(out[2].id, out[0].id);
    assert.deepEqual(
      out.map((j: { deduplicated: boolean }) => j.deduplicated),
      [false, false, true],
    );
    const entry = await lastAudit();
    assert.equal(entry?.action, "job.create_batch");
    assert.deepEqual(entry?.details, { count: 3, created: 2, queues: ["batch"] });
  });

  test("one bad job refuses the whole batch; more than 1,000 jobs are refused", async () => {
    const before = (await engine.listJobs({ queue: "allornothing" })).length;
    const bad = await call("POST", "/v1/jobs/batch", {
      jobs: [
        { queue: "allornothing", target: { handler: "a" } },
        { queue: "allornothing", target: {} },
      ],
    });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().error.message, /jobs\[1\]\.target/);
    assert.equal((await engine.listJobs({ queue: "allornothing" })).length, before);
    const many = await call("POST", "/v1/jobs/batch", {
      jobs: Array(1001).fill({ target: { handler: "a" } }),
    });
    assert.equal(many.statusCode, 400);
    assert.match(many.json().error.message, /jobs: Too big/);
  });
});

describe("GET /v1/jobs/:id and GET /v1/jobs", () => {
  test("a job with its attempts, response details included; credential headers redacted", async () => {
    const target = {
      url: "https://app.example.com/hook",
      headers: { Authorization: "Bearer sk_live_1", "X-Api-Key": "${API_KEY}", "X-Company-Id": "42" },
    };
    const { id } = (await call("POST", "/v1/jobs", { queue: "deliver", target, maxAttempts: 1 })).json();
    const [claimed] = await engine.claim({
      queue: "deliver",
      handlers: ["@http"],
      limit: 1,
      leaseMs: 30_000,
      workerId: "w1",
      // A queue of HTTP jobs is keyed by host (flow control): the limited claim serves it.
      limited: true,
    });
    assert.ok(claimed);
    const detail = { responseStatus: 502, latencyMs: 12, responseBody: "bad gateway" };
    await engine.fail([{ job: claimed, error: { message: "HTTP 502" }, retryInMs: null, detail }]);
    const res = await call("GET", `/v1/jobs/${id}`);
    assert.equal(res.statusCode, 200);
    const job = res.json();
    assert.equal(job.state, "dead");
    assert.deepEqual(job.target.headers, {
      Authorization: "[redacted]",
      "X-Api-Key": "${API_KEY}",
      "X-Company-Id": "42",
    });
    assert.equal(job.attempts.length, 1);
    assert.deepEqual(
      { s: job.attempts[0].responseStatus, l: job.attempts[0].latencyMs, b: job.attempts[0].responseBody },
      { s: 502, l: 12, b: "bad gateway" },
    );
    assert.match(job.attempts[0].startedAt, /^\d{4}-\d\d-\d\dT.*Z$/);
  });

  test("errors are shown without stack traces", async () => {
    const { id } = await engine.enqueue({ queue: "stacks", target: { handler: "h" }, maxAttempts: 1 });
    const [job] = await engine.claim({
      queue: "stacks",
      handlers: ["h"],
      limit: 1,
      leaseMs: 30_000,
      workerId: "w",
      limited: false,
    });
    const error = {
      name: "Error",
      message: "boom",
      stack: "Error: boom\n    at handler (/srv/app/secret-path.js:1:1)",
    };
    await engine.fail([{ job: job as never, error, retryInMs: null }]);
    const res = await call("GET", `/v1/jobs/${id}`);
    assert.equal(res.json().lastError.message, "boom");
    assert.equal(res.json().lastError.stack, undefined);
    assert.equal(res.json().attempts[0].error.stack, undefined);
    assert.doesNotMatch(res.body, /secret-path/);
  });

  test("an unknown job is 404 job_not_found", async () => {
    const res = await call("GET", "/v1/jobs/987654321");
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().error.code, "job_not_found");
  });

  test("lists newest first in cursor pages, filtered by queue and state", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await call("POST", "/v1/jobs", { queue: "pages", target: { handler: "p" } })).json().id);
    const seen: string[] = [];
    let cursor: string | null = "";
    while (cursor !== null) {
      const res = await call(
        "GET",
        `/v1/jobs?queue=pages&state=available&limit=2${cursor ? `&cursor=${cursor}` : ""}`,
      );
      assert.equal(res.statusCode, 200);
      seen.push(...res.json().jobs.map((j: { id: string }) => j.id));
      cursor = res.json().nextCursor;
    }
    assert.deepEqual(seen, ids.reverse());
    const bad = await call("GET", "/v1/jobs?state=sleeping");
    assert.equal(bad.json().error.code, "invalid_argument");
    const unknown = await call("GET", "/v1/jobs?page=2");
    assert.equal(unknown.json().error.code, "unknown_option");
  });

  test("lists a queue's finished jobs the latest finished first, in pages whose cursor carries the finish time", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await call("POST", "/v1/jobs", { queue: "done-pages", target: { handler: "p" } })).json().id);
    const claimed = await engine.claim({
      queue: "done-pages",
      handlers: ["p"],
      limit: 5,
      leaseMs: 60_000,
      workerId: "w",
      limited: false,
    });
    const byId = new Map(claimed.map((j) => [j.id, j]));
    const finish = async (group: string[]) =>
      assert.deepEqual(await engine.complete(group.map((id) => byId.get(id) ?? assert.fail(id))), new Set());
    // The newer two finish first, then the older three together.
    await finish(ids.slice(3));
    await finish(ids.slice(0, 3));
    const seen: string[] = [];
    const cursors: string[] = [];
    let cursor: string | null = "";
    while (cursor !== null) {
      const res = await call(
        "GET",
        `/v1/jobs?queue=done-pages&state=succeeded&limit=2${cursor ? `&cursor=${cursor}` : ""}`,
      );
      assert.equal(res.statusCode, 200);
      seen.push(...res.json().jobs.map((j: { id: string }) => j.id));
      cursor = res.json().nextCursor;
      if (cursor) cursors.push(cursor);
    }
    assert.deepEqual(seen, [ids[2], ids[1], ids[0], ids[4], ids[3]]);
    for (const c of cursors) assert.match(c, /^[0-9]+_[1-9][0-9]*$/);
    const bad = await call("GET", "/v1/jobs?queue=done-pages&state=succeeded&cursor=yesterday");
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.code, "invalid_argument");
    assert.match(bad.json().error.message, /cursor/);
  });
});

describe("POST /v1/jobs/:id/cancel and /retry", () => {
  test("cancel, retry, and the 409s when the state does not allow it; both audited", async () => {
    const { id } = (await call("POST", "/v1/jobs", { queue: "ops", target: { handler: "x" } })).json();
    const retryLive = await call("POST", `/v1/jobs/${id}/retry`);
    assert.equal(retryLive.statusCode, 409);
    assert.equal(retryLive.json().error.code, "job_not_retryable");
    const cancel = await call("POST", `/v1/jobs/${id}/cancel`);
    assert.deepEqual(cancel.json(), { id, state: "cancelled", previousState: "available" });
    assert.deepEqual(await lastAudit().then((e) => [e?.action, e?.target]), ["job.cancel", `job:${id}`]);
    assert.equal((await call("POST", `/v1/jobs/${id}/cancel`)).json().error.code, "job_already_finished");
    const retry = await call("POST", `/v1/jobs/${id}/retry`, {});
    assert.deepEqual(retry.json(), { id });
    assert.deepEqual(await lastAudit().then((e) => [e?.action, e?.target]), ["job.retry", `job:${id}`]);
    assert.equal((await engine.getJob(id)).state, "available");
  });

  test("retrying a job whose dedupe key a live job holds is 409, not 500", async () => {
    const job = { queue: "dk", target: { handler: "x" }, dedupeKey: "same" };
    const { id } = (await call("POST", "/v1/jobs", job)).json();
    await call("POST", `/v1/jobs/${id}/cancel`);
    await call("POST", "/v1/jobs", job);
    const res = await call("POST", `/v1/jobs/${id}/retry`);
    assert.equal(res.statusCode, 409);
    assert.equal(res.json().error.code, "dedupe_key_taken");
  });
});

describe("Idempotency-Key", () => {
  const job = { queue: "idem", target: { handler: "charge" }, payload: { cents: 100 } };

  test("a repeat gets the stored response, marked Idempotent-Replayed", async () => {
    const first = await call("POST", "/v1/jobs", job, { "idempotency-key": "k-1" });
    assert.equal(first.statusCode, 201);
    // Same body with keys in another order: the same request.
    const reordered = { payload: { cents: 100 }, target: { handler: "charge" }, queue: "idem" };
    const again = await call("POST", "/v1/jobs", reordered, { "idempotency-key": "k-1" });
    assert.equal(again.statusCode, 201);
    assert.equal(again.headers["idempotent-replayed"], "true");
    assert.deepEqual(again.json(), first.json());
    assert.equal((await engine.listJobs({ queue: "idem" })).length, 1);
  });

  test("the key with another body is 422; while the first runs, 409", async () => {
    await call("POST", "/v1/jobs", job, { "idempotency-key": "k-2" });
    const other = await call(
      "POST",
      "/v1/jobs",
      { ...job, payload: { cents: 999 } },
      { "idempotency-key": "k-2" },
    );
    assert.equal(other.statusCode, 422);
    assert.equal(other.json().error.code, "idempotency_key_reused");
    // A request that began and has not finished, as another replica would leave it.
    const body = { jobs: [job] };
    const fp = await fingerprint({ method: "POST", path: "/v1/jobs/batch", body });
    assert.equal(
      (await engine.idempotency.begin({ scope: "admin", key: "k-3", fingerprint: fp })).state,
      "started",
    );
    const running = await call("POST", "/v1/jobs/batch", body, { "idempotency-key": "k-3" });
    assert.equal(running.statusCode, 409);
    assert.equal(running.json().error.code, "idempotency_in_flight");
    assert.equal(running.headers["retry-after"], "1");
  });

  test("client errors are stored and replayed; keys of different tokens never collide", async () => {
    const big = { target: { handler: "h" }, payload: "y".repeat(5000) };
    const first = await call("POST", "/v1/jobs", big, { "idempotency-key": "k-4" });
    assert.equal(first.statusCode, 413);
    const again = await call("POST", "/v1/jobs", big, { "idempotency-key": "k-4" });
    assert.equal(again.statusCode, 413);
    assert.equal(again.headers["idempotent-replayed"], "true");
    assert.deepEqual(again.json(), first.json());
    const { token } = await engine.tokens.create({ name: "other", scopes: ["publish"], actor: "test" });
    const theirs = await app.inject({
      method: "POST",
      url: "/v1/jobs",
      headers: { authorization: `Bearer ${token}`, "idempotency-key": "k-1" },
      payload: job,
    });
    assert.equal(theirs.statusCode, 201);
    assert.equal(theirs.headers["idempotent-replayed"], undefined);
  });
});
