import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type ClaimedJob, createWorker, type Engine, isKeelError } from "../src/index.js";
import { deferred, guardLeaks, testEngine, waitFor } from "./helpers.js";

guardLeaks();
const engine: Engine = await testEngine();
const S = `"${engine.schema}"`;
const claim = (queue: string) =>
  engine.claim({ queue, handlers: ["h"], limit: 10, leaseMs: 30_000, workerId: "w", limited: false });

describe("switches", () => {
  test("an enqueue switch that is off refuses the whole batch with enqueue_disabled", async () => {
    await engine.enqueue({ queue: "sw-open", target: { handler: "h" } });
    await engine.switches.set("enqueue:sw-closed", false, { actor: "test", reason: "incident 42" });
    const before = await engine.pool.query(`select count(*)::int n from ${S}.jobs`);
    await assert.rejects(
      engine.enqueueMany([
        { queue: "sw-open", target: { handler: "h" } },
        { queue: "sw-closed", target: { handler: "h" } },
      ]),
      (err: unknown) =>
        isKeelError(err, "enqueue_disabled") && err.status === 503 && /sw-closed/.test(err.message),
    );
    const after = await engine.pool.query(`select count(*)::int n from ${S}.jobs`);
    assert.equal(after.rows[0].n, before.rows[0].n, "nothing half-written");
    await engine.switches.set("enqueue:sw-closed", true, { actor: "test" });
    assert.equal((await engine.enqueue({ queue: "sw-closed", target: { handler: "h" } })).state, "available");
  });

  test("a process switch that is off stops claims, and workers see it as paused", async () => {
    await engine.enqueue({ queue: "sw-proc", target: { handler: "h" } });
    await engine.switches.set("process:sw-proc", false, { actor: "test" });
    assert.equal((await claim("sw-proc")).length, 0);
    assert.equal((await engine.queueLimits(["sw-proc"])).get("sw-proc")?.paused, true);
    await engine.switches.set("process:sw-proc", true, { actor: "test" });
    assert.equal((await claim("sw-proc")).length, 1);
  });

  test("switches are listed with who set them and why; bad names are refused", async () => {
    const list = await engine.switches.list();
    const s = list.find((x) => x.name === "enqueue:sw-closed");
    assert.equal(s?.enabled, true);
    assert.equal(s?.updatedBy, "test");
    assert.equal(await engine.switches.isEnabled("process:never-set"), true);
    for (const bad of ["nope", "enqueue:", "process:has space", "enqueue:x:y z"]) {
      await assert.rejects(engine.switches.set(bad, false, { actor: "t" }), (e: unknown) =>
        isKeelError(e, "invalid_switch"),
      );
    }
  });
});

describe("tokens", () => {
  test("a created token verifies; only its hash is stored; revoked tokens stop working", async () => {
    const created = await engine.tokens.create({ name: "ci", scopes: ["publish", "read"], actor: "test" });
    assert.match(created.token, /^keel_[0-9A-Za-z]{32}$/);
    assert.equal(created.prefix, created.token.slice(0, 9));
    const stored = await engine.pool.query(`select * from ${S}.tokens`);
    assert.ok(
      !JSON.stringify(stored.rows).includes(created.token.slice(5)),
      "the token itself is not stored",
    );
    const ok = await engine.tokens.verify(created.token);
    assert.deepEqual(ok?.scopes, ["publish", "read"]);
    const last = created.token.slice(-1);
    const altered = `${created.token.slice(0, -1)}${last === "x" ? "y" : "x"}`;
    assert.equal(await engine.tokens.verify(altered), null, "one changed character does not verify");
    assert.equal(await engine.tokens.verify("Bearer nonsense"), null);
    await engine.tokens.revoke(created.id, "test");
    assert.equal(await engine.tokens.verify(created.token), null);
    const listed = (await engine.tokens.list()).find((t) => t.id === created.id);
    assert.equal(listed?.revokedBy, "test");
    assert.ok(!("token" in (listed ?? {})));
  });

  test("bad token input is refused with a code", async () => {
    await assert.rejects(engine.tokens.create({ name: "", scopes: ["read"], actor: "t" }), (e: unknown) =>
      isKeelError(e, "invalid_argument"),
    );
    await assert.rejects(
      engine.tokens.create({ name: "x", scopes: ["root" as never], actor: "t" }),
      (e: unknown) => isKeelError(e, "invalid_argument"),
    );
    await assert.rejects(engine.tokens.revoke("999999", "t"), (e: unknown) =>
      isKeelError(e, "token_not_found"),
    );
  });
});

describe("audit log", () => {
  test("entries are listed newest first and cannot be changed or deleted", async () => {
    await engine.auditLog.write({
      actor: "token:ops",
      action: "queue.pause",
      target: "queue:email",
      source: "10.1.2.3",
    });
    await engine.auditLog.write({
      actor: "cli:alice",
      action: "job.cancel",
      target: "job:7",
      details: { reason: "dup" },
    });
    const [latest, previous] = await engine.auditLog.list({ limit: 2 });
    assert.equal(latest?.action, "job.cancel");
    assert.deepEqual(latest?.details, { reason: "dup" });
    assert.equal(previous?.source, "10.1.2.3");
    const older = await engine.auditLog.list({ before: previous?.id, limit: 10 });
    assert.ok(older.every((r) => BigInt(r.id) < BigInt(previous?.id as string)));
    await assert.rejects(engine.pool.query(`update ${S}.audit_log set actor = 'x'`), /append-only/);
    await assert.rejects(engine.pool.query(`delete from ${S}.audit_log`), /append-only/);
  });
});

describe("attempt details and listing", () => {
  test("what a handler records about its attempt is stored with the outcome", async () => {
    const done = deferred();
    const worker = createWorker({
      engine,
      queues: ["detail"],
      leaseMs: 5_000,
      maintenance: false,
      handlers: {
        h: ({ setAttemptDetail }) => {
          setAttemptDetail({ responseStatus: 204, latencyMs: 12.6, responseBody: "" });
          done.resolve();
        },
      },
    });
    await worker.start();
    const { id } = await engine.enqueue({ queue: "detail", target: { handler: "h" } });
    await done.promise;
    const job = await waitFor(async () => {
      const j = await engine.getJob(id);
      return j.state === "succeeded" ? j : undefined;
    });
    await worker.stop();
    assert.equal(job.attempts[0]?.responseStatus, 204);
    assert.equal(job.attempts[0]?.latencyMs, 13);
  });

  test("fail records the response too", async () => {
    const { id } = await engine.enqueue({ queue: "detail2", target: { handler: "h" }, maxAttempts: 1 });
    const [job] = (await claim("detail2")) as [ClaimedJob];
    await engine.fail([
      { job, error: { message: "500" }, retryInMs: 0, detail: { responseStatus: 500, responseBody: "oops" } },
    ]);
    const rec = await engine.getJob(id);
    assert.equal(rec.attempts[0]?.responseStatus, 500);
    assert.equal(rec.attempts[0]?.responseBody, "oops");
  });

  test("listJobs pages newest first across live and finished jobs", async () => {
    const ids = (
      await engine.enqueueMany(Array.from({ length: 7 }, () => ({ queue: "list", target: { handler: "h" } })))
    ).map((r) => r.id);
    await engine.cancel(ids[0] as string);
    const page1 = await engine.listJobs({ queue: "list", limit: 4 });
    assert.deepEqual(
      page1.map((j) => j.id),
      ids.slice(3).reverse(),
    );
    const page2 = await engine.listJobs({ queue: "list", limit: 4, before: page1.at(-1)?.id });
    assert.deepEqual(
      page2.map((j) => j.id),
      ids.slice(0, 3).reverse(),
    );
    assert.equal(page2.at(-1)?.state, "cancelled");
    const cancelled = await engine.listJobs({ queue: "list", state: "cancelled" });
    assert.deepEqual(
      cancelled.map((j) => j.id),
      [ids[0]],
    );
    await assert.rejects(engine.listJobs({ limit: 0 }), (e: unknown) => isKeelError(e, "invalid_argument"));
  });
});
