/**
 * The client's schedule, tenant, source and event methods against a real Keel: a schedule made,
 * triggered (keyed) and listed with its runs; a webhook source receiving a signed event that is
 * listed, read and replayed.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { Webhook } from "standardwebhooks";
import { guardServerLeaks } from "../../server/test/helpers.js";
import { KeelClient, KeelConflictError, KeelNotFoundError, type ResponseInfo } from "../src/index.js";
import { startTestKeel } from "./fixtures/client-servers.js";

guardServerLeaks();

const keel = await startTestKeel();
const seen: ResponseInfo[] = [];
const client = new KeelClient({ baseUrl: keel.url, token: keel.admin, onResponse: (r) => seen.push(r) });

test("schedules: put, get, next fire times, a keyed trigger, runs, pause, resume, delete", async () => {
  const made = await client.schedules.put("sdk-nightly", {
    cron: "0 2 * * *",
    timezone: "Europe/London",
    target: { handler: "report" },
    queue: "sdk-reports",
    payload: { kind: "nightly" },
  });
  assert.equal(made.managedBy, "api");
  assert.equal((await client.schedules.get("sdk-nightly")).cron, "0 2 * * *");
  assert.ok((await client.schedules.list()).some((s) => s.name === "sdk-nightly"));
  const next = await client.schedules.next("sdk-nightly", 3);
  assert.equal(next.length, 3);
  assert.ok(next.every((t) => Date.parse(t) > Date.now()));

  const triggered = await client.schedules.trigger("sdk-nightly", { idempotencyKey: "sdk-trigger-1" });
  assert.equal(triggered.jobs.length, 1);
  const again = await client.schedules.trigger("sdk-nightly", { idempotencyKey: "sdk-trigger-1" });
  assert.deepEqual(again, triggered, "the same key: the stored answer, no second run");
  assert.equal(seen.at(-1)?.replayed, true);
  const job = await client.jobs.get(triggered.jobs[0]?.jobId as string);
  assert.equal(job.origin?.schedule, "sdk-nightly");
  assert.equal(job.origin?.trigger, "manual");
  const runs: string[] = [];
  for await (const run of client.schedules.iterateRuns("sdk-nightly", { limit: 1 })) runs.push(run.kind);
  assert.deepEqual(runs, ["manual"]);

  assert.equal((await client.schedules.pause("sdk-nightly", { reason: "sdk test" })).paused, true);
  const resumed = await client.schedules.resume("sdk-nightly");
  assert.equal(resumed.schedule.paused, false);
  assert.deepEqual(await client.schedules.delete("sdk-nightly"), { name: "sdk-nightly", deleted: true });
  const gone = await client.schedules.get("sdk-nightly").catch((e: unknown) => e);
  assert.ok(gone instanceof KeelNotFoundError);
  assert.equal(gone.code, "schedule_not_found");
});

test("tenants: put, list, delete", async () => {
  assert.deepEqual(await client.tenants.put("sdk-acme"), { id: "sdk-acme", created: true });
  assert.deepEqual(await client.tenants.put("sdk-acme"), { id: "sdk-acme", created: false });
  assert.ok((await client.tenants.list()).some((t) => t.id === "sdk-acme"));
  assert.deepEqual(await client.tenants.delete("sdk-acme"), { id: "sdk-acme", deleted: true });
});

test("sources and events: a signed webhook is stored, listed, read and replayed", async () => {
  const secret = `whsec_${randomBytes(32).toString("base64")}`;
  const source = await client.sources.put("sdk-hooks", {
    provider: "standard",
    secrets: [secret],
    routes: [{ events: ["*"], target: { handler: "onHook" }, queue: "sdk-intake" }],
  });
  assert.equal(source.provider, "standard");
  assert.equal(source.secrets[0]?.reference, null, "a stored secret is never returned");
  assert.ok((await client.sources.list()).some((s) => s.name === "sdk-hooks"));

  const body = JSON.stringify({ type: "user.created", data: { id: 7 } });
  const id = `msg_${randomBytes(6).toString("hex")}`;
  const at = new Date();
  const sent = await fetch(`${keel.url}${source.url}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": new Webhook(secret).sign(id, at, body),
    },
    body,
  });
  assert.ok(sent.status < 300, `intake answered ${sent.status}: ${await sent.text()}`);
  const forged = await fetch(`${keel.url}${source.url}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  assert.ok(forged.status === 400 || forged.status === 401);
  assert.ok((await client.sources.rejections("sdk-hooks")).length >= 1);

  const page = await client.events.list({ source: "sdk-hooks" });
  assert.equal(page.events.length, 1);
  const event = await client.events.get(page.events[0]?.id as string);
  assert.equal(event.body, body);
  assert.equal(event.deliveries.length, 1);
  const replayed = await client.events.replay(event.id);
  assert.equal(replayed.jobs.length, 1);
  const all: string[] = [];
  for await (const e of client.events.iterate({ source: "sdk-hooks" })) all.push(e.id);
  assert.deepEqual(all, [event.id]);
  const many = await client.events.replayMany({ source: "sdk-hooks" });
  assert.equal(many.replayed, 1);

  assert.deepEqual(await client.sources.delete("sdk-hooks"), { name: "sdk-hooks", removed: true });
  const missing = await client.sources.delete("sdk-hooks").catch((e: unknown) => e);
  assert.ok(missing instanceof KeelNotFoundError, "a repeated delete is a 404, so deletes are not retried");
  assert.ok(!(missing instanceof KeelConflictError));
});
