import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CONTRACTS } from "@keel/protocol/contracts";
import { guardLeaks, deadJobs as sharedDeadJobs } from "../../engine/test/helpers.js";
import type { Contract } from "../src/api/route.js";
import { contractCheckedApi } from "./api-harness.js";

guardLeaks();
const { engine, call, lastAudit } = await contractCheckedApi();

const deadJobs = (queue: string, n: number) => sharedDeadJobs(engine, queue, n);

describe("queues", () => {
  test("GET /v1/queues: settings, counts per state, oldest ready age, paused", async () => {
    await engine.upsertQueue("reports", { concurrency: 3 });
    await engine.enqueueMany([
      { queue: "reports", target: { handler: "r" } },
      { queue: "reports", target: { handler: "r" } },
    ]);
    const res = await call("GET", "/v1/queues");
    assert.equal(res.statusCode, 200);
    const q = res.json().queues.find((x: { name: string }) => x.name === "reports");
    assert.equal(q.concurrency, 3);
    assert.equal(q.counts.available, 2);
    assert.equal(q.paused, false);
    assert.equal(typeof q.oldestReadyAgeSeconds, "number");
  });

  test("pause and resume, audited; unknown queue 404; bad name 400", async () => {
    await engine.upsertQueue("mail");
    assert.deepEqual((await call("POST", "/v1/queues/mail/pause")).json(), { name: "mail", paused: true });
    assert.deepEqual(await lastAudit().then((e) => [e?.action, e?.target]), ["queue.pause", "queue:mail"]);
    assert.equal((await engine.listQueues()).find((q) => q.name === "mail")?.paused, true);
    assert.deepEqual((await call("POST", "/v1/queues/mail/resume")).json(), { name: "mail", paused: false });
    assert.deepEqual(await lastAudit().then((e) => [e?.action, e?.target]), ["queue.resume", "queue:mail"]);
    const unknown = await call("POST", "/v1/queues/nope/pause");
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().error.code, "queue_not_found");
    assert.equal((await call("POST", "/v1/queues/-bad/pause")).json().error.code, "invalid_argument");
  });

  test("retry-dead puts every dead job back and says how many", async () => {
    await deadJobs("fragile", 3);
    const res = await call("POST", "/v1/queues/fragile/retry-dead");
    assert.deepEqual(res.json(), { queue: "fragile", retried: 3 });
    const entry = await lastAudit();
    assert.deepEqual(
      [entry?.action, entry?.target, entry?.details],
      ["queue.retry_dead", "queue:fragile", { retried: 3 }],
    );
    assert.deepEqual((await call("POST", "/v1/queues/fragile/retry-dead")).json(), {
      queue: "fragile",
      retried: 0,
    });
  });

  test("GET /v1/failures groups dead jobs by fingerprint; retry-dead with a fingerprint retries that group only", async () => {
    await sharedDeadJobs(engine, "grouped", 2, { error: { code: "timeout", message: "took 31s" } });
    await sharedDeadJobs(engine, "grouped", 1, { error: { code: "http_502", message: "bad gateway" } });
    const res = await call("GET", "/v1/failures?queue=grouped");
    assert.equal(res.statusCode, 200);
    const groups = res.json().failures as {
      fingerprint: string;
      shape: string;
      counts: { lastHour: number };
    }[];
    assert.deepEqual(groups.map((g) => [g.shape, g.counts.lastHour]).sort(), [
      ["http_502: bad gateway", 1],
      ["timeout: took <n>s", 2],
    ]);
    const fingerprint = groups.find((g) => g.shape.startsWith("timeout"))?.fingerprint;
    const retried = await call("POST", "/v1/queues/grouped/retry-dead", { fingerprint });
    assert.deepEqual(retried.json(), { queue: "grouped", retried: 2 });
    assert.deepEqual((await lastAudit())?.details, { retried: 2, filter: { fingerprint } });
    const bad = await call("POST", "/v1/queues/grouped/retry-dead", { fingerprint: "../etc" });
    assert.equal(bad.json().error.code, "invalid_argument");
  });

  test("purge-dead deletes every dead job with its attempts, audited", async () => {
    const ids = await deadJobs("doomed", 4);
    const res = await call("POST", "/v1/queues/doomed/purge-dead");
    assert.deepEqual(res.json(), { queue: "doomed", purged: 4 });
    assert.deepEqual(await lastAudit().then((e) => [e?.action, e?.details]), [
      "queue.purge_dead",
      { purged: 4 },
    ]);
    for (const id of ids) assert.equal((await call("GET", `/v1/jobs/${id}`)).statusCode, 404);
    const left = await engine.pool.query(
      `select count(*)::int n from "${engine.schema}".job_tries where job_id = any($1)`,
      [ids],
    );
    assert.equal(left.rows[0].n, 0);
  });
});

describe("switches", () => {
  test("PUT sets a switch with its reason, GET lists it, the audit log has it", async () => {
    const res = await call("PUT", "/v1/switches/enqueue:mail", { enabled: false, reason: "incident 42" });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().enabled, false);
    assert.equal(res.json().updatedBy, "api:token:admin");
    const list = (await call("GET", "/v1/switches")).json().switches;
    assert.deepEqual(
      list.map((s: { name: string; enabled: boolean; reason: string }) => [s.name, s.enabled, s.reason]),
      [["enqueue:mail", false, "incident 42"]],
    );
    const entry = await lastAudit();
    assert.deepEqual([entry?.action, entry?.target], ["switch.set", "switch:enqueue:mail"]);
    assert.deepEqual(entry?.details, { enabled: false, reason: "incident 42" });
  });

  test("invalid names and bodies are refused with their codes", async () => {
    assert.equal(
      (await call("PUT", "/v1/switches/pause-all", { enabled: false })).json().error.code,
      "invalid_switch",
    );
    assert.equal((await call("PUT", "/v1/switches/scheduling", {})).json().error.code, "invalid_argument");
    const extra = await call("PUT", "/v1/switches/scheduling", { enabled: true, until: "later" });
    assert.equal(extra.json().error.code, "unknown_option");
  });
});

describe("tokens", () => {
  test("create shows the token once; list never shows it; revoke; all audited without the secret", async () => {
    const created = await call("POST", "/v1/tokens", { name: "ci", scopes: ["publish", "read"] });
    assert.equal(created.statusCode, 201);
    const { id, token, prefix } = created.json();
    assert.match(token, /^keel_[0-9A-Za-z]{32}$/);
    assert.ok(token.startsWith(prefix));
    const entry = await lastAudit();
    assert.deepEqual([entry?.action, entry?.target], ["token.create", `token:${id}`]);
    assert.ok(!JSON.stringify(entry).includes(token));
    const list = await call("GET", "/v1/tokens");
    assert.ok(!list.body.includes(token));
    assert.equal(list.json().tokens.find((t: { id: string }) => t.id === id)?.name, "ci");
    const revoked = await call("DELETE", `/v1/tokens/${id}`);
    assert.equal(revoked.json().revokedBy, "api:token:admin");
    assert.match(revoked.json().revokedAt, /Z$/);
    assert.deepEqual(await lastAudit().then((e) => [e?.action, e?.target]), ["token.revoke", `token:${id}`]);
    assert.equal((await call("DELETE", "/v1/tokens/99999")).json().error.code, "token_not_found");
  });

  test("bad names and scopes are refused", async () => {
    assert.equal((await call("POST", "/v1/tokens", { name: "x", scopes: ["root"] })).statusCode, 400);
    assert.equal((await call("POST", "/v1/tokens", { name: "", scopes: ["read"] })).statusCode, 400);
    assert.equal((await call("POST", "/v1/tokens", { name: "x", scopes: [] })).statusCode, 400);
  });
});

describe("the audit log", () => {
  test("GET /v1/audit pages newest first", async () => {
    const first = (await call("GET", "/v1/audit?limit=2")).json();
    assert.equal(first.entries.length, 2);
    assert.ok(Number(first.entries[0].id) > Number(first.entries[1].id));
    const next = (await call("GET", `/v1/audit?limit=2&before=${first.nextCursor}`)).json();
    assert.ok(Number(next.entries[0].id) < Number(first.entries[1].id));
    assert.equal((await call("GET", "/v1/audit?before=abc")).json().error.code, "invalid_argument");
  });

  test("every mutating route writes an entry", async () => {
    const { id: jobId } = await engine.enqueue({ queue: "every", target: { handler: "h" } });
    const { id: tokenId } = await engine.tokens.create({ name: "t", scopes: ["read"], actor: "test" });
    await engine.upsertQueue("every");
    const github = { provider: "github", secrets: ["s"] };
    const { source } = await engine.intake.sources.put("every-events", github, { managedBy: "api" });
    const { id: eventId } = await engine.intake.events.accept({
      source,
      eventId: "every",
      type: "push",
      contentType: null,
      headers: {},
      body: Buffer.from("{}"),
      verification: { provider: "github", secret: 1 },
    });
    const mutations: Record<string, [string, object | undefined, string]> = {
      createJob: ["/v1/jobs", { target: { handler: "h" } }, "job.create"],
      createJobs: ["/v1/jobs/batch", { jobs: [{ target: { handler: "h" } }] }, "job.create_batch"],
      cancelJob: [`/v1/jobs/${jobId}/cancel`, undefined, "job.cancel"],
      retryJob: [`/v1/jobs/${jobId}/retry`, undefined, "job.retry"],
      pauseQueue: ["/v1/queues/every/pause", undefined, "queue.pause"],
      resumeQueue: ["/v1/queues/every/resume", undefined, "queue.resume"],
      retryDeadJobs: ["/v1/queues/every/retry-dead", undefined, "queue.retry_dead"],
      purgeDeadJobs: ["/v1/queues/every/purge-dead", undefined, "queue.purge_dead"],
      setSwitch: ["/v1/switches/process:every", { enabled: true }, "switch.set"],
      createToken: ["/v1/tokens", { name: "n", scopes: ["read"] }, "token.create"],
      revokeToken: [`/v1/tokens/${tokenId}`, undefined, "token.revoke"],
      putSource: ["/v1/sources/every", { provider: "github", secrets: ["s"] }, "source.put"],
      replayEvent: [`/v1/events/${eventId}/replay`, undefined, "event.replay"],
      replayEvents: ["/v1/events/replay", { source: "every-events" }, "event.replay_bulk"],
      deleteSource: ["/v1/sources/every", undefined, "source.delete"],
      putSchedule: [
        "/v1/schedules/every",
        { cron: "0 6 * * *", target: { handler: "h" } },
        "schedule.create",
      ],
      pauseSchedule: ["/v1/schedules/every/pause", undefined, "schedule.pause"],
      resumeSchedule: ["/v1/schedules/every/resume", undefined, "schedule.resume"],
      triggerSchedule: ["/v1/schedules/every/trigger", undefined, "schedule.trigger"],
      deleteSchedule: ["/v1/schedules/every", undefined, "schedule.delete"],
      putTenant: ["/v1/tenants/every", undefined, "tenant.add"],
      deleteTenant: ["/v1/tenants/every", undefined, "tenant.remove"],
    };
    // A rate-limit check spends quota but is application traffic (thousands a second), not an
    // operator's change: it is counted in metrics, not audited.
    const mutating = CONTRACTS.filter((c) => c.method !== "GET" && c.operationId !== "checkRateLimit").map(
      (c) => c.operationId,
    );
    assert.deepEqual(Object.keys(mutations).sort(), mutating.sort());
    // In the table's order: cancel before retry.
    for (const [operationId, [url, body, action]] of Object.entries(mutations)) {
      const c = CONTRACTS.find((x) => x.operationId === operationId) as Contract;
      const res = await call(c.method, url, body);
      assert.ok(res.statusCode < 300, `${operationId}: ${res.body}`);
      const entry = await lastAudit();
      assert.equal(entry?.action, action);
      assert.equal(entry?.actor, "api:token:admin");
      assert.equal(entry?.source, "127.0.0.1");
    }
  });
});
