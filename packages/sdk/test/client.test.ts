/**
 * KeelClient against a real Keel (in this process, real Postgres): typed calls, cursor pages,
 * errors as typed classes with the registry's codes, and an idempotent retry after a dropped
 * connection that creates exactly one job.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { guardServerLeaks } from "../../server/test/helpers.js";
import {
  KeelApiError,
  KeelAuthError,
  KeelClient,
  KeelConflictError,
  KeelInvalidRequestError,
  KeelNetworkError,
  KeelNotFoundError,
  KeelServerError,
  type ResponseInfo,
} from "../src/index.js";
import { startDroppingProxy, startTestKeel } from "./fixtures/client-servers.js";

guardServerLeaks();

const keel = await startTestKeel({ config: { policies: { "sdk-web": { limit: 1, window: 60 } } } });
const fast = { attempts: 4, baseDelayMs: 10, maxDelayMs: 50 };
const client = new KeelClient({ baseUrl: keel.url, token: keel.admin, retry: fast });

test("create, get and list jobs with typed results", async () => {
  const created = await client.jobs.create({
    queue: "sdk-email",
    target: { handler: "sendWelcome" },
    payload: { userId: 42 },
    tenant: "acme",
    delay: 60_000,
  });
  assert.equal(created.state, "scheduled");
  assert.equal(created.deduplicated, false);
  const job = await client.jobs.get(created.id);
  assert.equal(job.id, created.id);
  assert.deepEqual(job.payload, { userId: 42 });
  assert.deepEqual(job.target, { handler: "sendWelcome" });
  assert.equal(job.tenant, "acme");
  assert.deepEqual(job.attempts, []);

  const batch = await client.jobs.createMany([
    { queue: "sdk-email", target: { url: "https://app.example.com/hook" }, dedupeKey: "d1" },
    { queue: "sdk-email", target: { url: "https://app.example.com/hook" }, dedupeKey: "d1" },
  ]);
  assert.equal(batch.length, 2);
  assert.equal(batch[1]?.id, batch[0]?.id, "the second shares the first's dedupe key");
  assert.equal(batch[1]?.deduplicated, true);
});

test("cursor pages: list walks newest first; iterate yields every job once", async () => {
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    ids.push((await client.jobs.create({ queue: "sdk-pages", target: { handler: "h" }, payload: { i } })).id);
  }
  const first = await client.jobs.list({ queue: "sdk-pages", limit: 2 });
  assert.deepEqual(
    first.jobs.map((j) => j.id),
    ids.slice(3).reverse(),
  );
  assert.ok(first.nextCursor);
  const second = await client.jobs.list({ queue: "sdk-pages", limit: 2, cursor: first.nextCursor });
  assert.deepEqual(
    second.jobs.map((j) => j.id),
    ids.slice(1, 3).reverse(),
  );
  const all: string[] = [];
  for await (const job of client.jobs.iterate({ queue: "sdk-pages", limit: 2 })) all.push(job.id);
  assert.deepEqual(all, [...ids].reverse());
});

test("errors are typed classes carrying the registry's codes, status and request id", async () => {
  const missing = await client.jobs.get("999999999").catch((e: unknown) => e);
  assert.ok(missing instanceof KeelNotFoundError);
  assert.equal(missing.code, "job_not_found");
  assert.equal(missing.status, 404);
  assert.match(missing.requestId ?? "", /^[0-9a-f-]{36}$/);

  const invalid = await client.jobs
    .create({ target: { url: "ftp://nope" } }, { idempotencyKey: "bad-1" })
    .catch((e: unknown) => e);
  assert.ok(invalid instanceof KeelInvalidRequestError);
  assert.equal(invalid.code, "invalid_target");
  assert.equal(invalid.status, 400);

  const typo = await client.jobs
    .create({ target: { handler: "h" }, delayMs: 5 } as never)
    .catch((e: unknown) => e);
  assert.ok(typo instanceof KeelInvalidRequestError);
  assert.equal(typo.code, "unknown_option");

  const stranger = new KeelClient({ baseUrl: keel.url, token: "keel_not-a-real-token", retry: false });
  const unauthorized = await stranger.queues.list().catch((e: unknown) => e);
  assert.ok(unauthorized instanceof KeelAuthError);
  assert.equal(unauthorized.code, "unauthorized");

  const reader = await client.tokens.create({ name: "sdk-reader", scopes: ["read"] });
  assert.match(reader.token, /^keel_/);
  const readOnly = new KeelClient({ baseUrl: keel.url, token: reader.token });
  const forbidden = await readOnly.jobs.create({ target: { handler: "h" } }).catch((e: unknown) => e);
  assert.ok(forbidden instanceof KeelAuthError);
  assert.equal(forbidden.code, "forbidden");
  assert.equal(forbidden.status, 403);
  await client.tokens.revoke(reader.id);

  const { id } = await client.jobs.create({ queue: "sdk-conflict", target: { handler: "h" } });
  const notRetryable = await client.jobs.retry(id).catch((e: unknown) => e);
  assert.ok(notRetryable instanceof KeelConflictError);
  assert.equal(notRetryable.code, "job_not_retryable");
  assert.ok(notRetryable instanceof KeelApiError, "every answer error is a KeelApiError");
});

test("a lasting 5xx (a switched-off queue) is not retried; the error says which switch", async () => {
  const seen: ResponseInfo[] = [];
  const watched = new KeelClient({
    baseUrl: keel.url,
    token: keel.admin,
    retry: fast,
    onResponse: (r) => seen.push(r),
  });
  await watched.switches.set("enqueue:sdk-off", { enabled: false, reason: "sdk test" });
  const off = await watched.jobs
    .create({ queue: "sdk-off", target: { handler: "h" } })
    .catch((e: unknown) => e);
  assert.ok(off instanceof KeelServerError);
  assert.equal(off.code, "enqueue_disabled");
  assert.equal(seen.filter((r) => r.path === "/jobs").length, 1, "sent once");
  const switches = await watched.switches.list();
  assert.equal(switches.find((s) => s.name === "enqueue:sdk-off")?.reason, "sdk test");
  await watched.switches.set("enqueue:sdk-off", { enabled: true });
});

test("a dropped connection after the job was created: the retry replays, one job exists", async () => {
  const proxy = await startDroppingProxy(keel.port as number, 1);
  const seen: ResponseInfo[] = [];
  const flaky = new KeelClient({
    baseUrl: proxy.url,
    token: keel.admin,
    retry: fast,
    onResponse: (r) => seen.push(r),
  });
  const created = await flaky.jobs.create({
    queue: "sdk-dropped",
    target: { handler: "h" },
    payload: { n: 1 },
  });
  assert.ok(proxy.connections() >= 2, "the first connection was dropped, a retry connected again");
  const jobs = await client.jobs.list({ queue: "sdk-dropped" });
  assert.deepEqual(
    jobs.jobs.map((j) => j.id),
    [created.id],
    "exactly one job",
  );
  const answered = seen.at(-1);
  assert.equal(answered?.status, 201);
  assert.equal(answered?.replayed, true, "the answer is the stored one of the first try");
  assert.ok((answered?.attempt ?? 0) >= 2);

  // A batch the same way.
  const batchProxy = await startDroppingProxy(keel.port as number, 1);
  const flakyBatch = new KeelClient({ baseUrl: batchProxy.url, token: keel.admin, retry: fast });
  const many = await flakyBatch.jobs.createMany([
    { queue: "sdk-dropped-batch", target: { handler: "h" } },
    { queue: "sdk-dropped-batch", target: { handler: "h" } },
  ]);
  const listed = await client.jobs.list({ queue: "sdk-dropped-batch" });
  assert.deepEqual(listed.jobs.map((j) => j.id).sort(), many.map((j) => j.id).sort());
});

test("the caller's own idempotency key replays across separate calls", async () => {
  const a = await client.jobs.create(
    { queue: "sdk-key", target: { handler: "h" } },
    { idempotencyKey: "signup-42" },
  );
  const b = await client.jobs.create(
    { queue: "sdk-key", target: { handler: "h" } },
    { idempotencyKey: "signup-42" },
  );
  assert.equal(b.id, a.id);
  const reused = await client.jobs
    .create({ queue: "sdk-key", target: { handler: "other" } }, { idempotencyKey: "signup-42" })
    .catch((e: unknown) => e);
  assert.ok(reused instanceof KeelInvalidRequestError);
  assert.equal(reused.code, "idempotency_key_reused");
  assert.equal(reused.status, 422);
});

test("queues, switches, tokens and the audit log", async () => {
  await client.jobs.create({ queue: "sdk-ops", target: { handler: "h" } });
  assert.deepEqual(await client.queues.pause("sdk-ops"), { name: "sdk-ops", paused: true });
  const queue = (await client.queues.list()).find((q) => q.name === "sdk-ops");
  assert.equal(queue?.paused, true);
  assert.equal(queue?.counts.available, 1);
  assert.deepEqual(await client.queues.resume("sdk-ops"), { name: "sdk-ops", paused: false });
  assert.deepEqual(await client.queues.retryDead("sdk-ops"), { queue: "sdk-ops", retried: 0 });
  assert.deepEqual(await client.queues.purgeDead("sdk-ops"), { queue: "sdk-ops", purged: 0 });
  assert.deepEqual(await client.queues.failures({ queue: "sdk-ops" }), []);
  assert.deepEqual(
    await client.queues.retryDead("sdk-ops", { filter: { fingerprint: "0123456789ab", tenant: "t" } }),
    {
      queue: "sdk-ops",
      retried: 0,
    },
  );
  const gone = await client.queues.pause("sdk-no-such-queue").catch((e: unknown) => e);
  assert.ok(gone instanceof KeelNotFoundError);
  assert.equal(gone.code, "queue_not_found");

  const { id } = await client.jobs.create({ queue: "sdk-ops", target: { handler: "h" } });
  const cancelled = await client.jobs.cancel(id);
  assert.deepEqual(cancelled, { id, state: "cancelled", previousState: "available" });
  assert.deepEqual(await client.jobs.retry(id), { id });

  const token = await client.tokens.create({ name: "sdk-ci", scopes: ["publish"] });
  assert.ok((await client.tokens.list()).some((t) => t.id === token.id && t.revokedAt === null));
  assert.ok((await client.tokens.revoke(token.id)).revokedAt);

  const actions: string[] = [];
  for await (const entry of client.audit.iterate({ limit: 3 })) actions.push(entry.action);
  assert.ok(actions.includes("job.cancel") && actions.includes("queue.pause"), actions.join(", "));
  const doc = await client.openApi();
  assert.equal(doc.openapi, "3.1.0");
});

test("no server: a KeelNetworkError, distinct from answers, after the retries", async () => {
  const { closedPort } = await import("../../server/test/helpers.js");
  const nowhere = new KeelClient({
    baseUrl: `http://127.0.0.1:${await closedPort()}`,
    token: "t",
    retry: fast,
  });
  const err = await nowhere.jobs.create({ target: { handler: "h" } }).catch((e: unknown) => e);
  assert.ok(err instanceof KeelNetworkError);
  assert.ok(!(err instanceof KeelApiError));
  assert.equal(err.timedOut, false);
  assert.match(err.message, /POST \/jobs: ECONNREFUSED/);
});

test("rate-limit checks: a refusal is a result; an unknown policy a typed 404", async () => {
  const first = await client.rateLimits.check({ policy: "sdk-web", key: "user:42" });
  assert.equal(first.allowed, true);
  assert.equal(first.limit, 1);
  const second = await client.rateLimits.check({ policy: "sdk-web", key: "user:42" });
  assert.equal(second.allowed, false);
  assert.ok((second.retryAfterSeconds ?? 0) > 0);
  const unknown = await client.rateLimits.check({ policy: "sdk-nope", key: "k" }).catch((e: unknown) => e);
  assert.ok(unknown instanceof KeelNotFoundError);
  assert.equal(unknown.code, "policy_not_found");
});
