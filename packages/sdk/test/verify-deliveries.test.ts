/**
 * Real deliveries from a running Keel (role all: API and delivery worker, real Postgres), signed
 * with two secrets (rotation), to receivers built with Express, Fastify and Fetch handlers (Hono
 * and a Next.js-style route): each accepts the genuine deliveries with their typed details and
 * refuses tampered copies of one.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { waitFor } from "../../engine/test/helpers.js";
import { KeelClient } from "../src/index.js";
import { guardFileLeaks, startScriptedServer, startTestKeel } from "./fixtures/client-servers.js";
import {
  expressReceiver,
  fastifyReceiver,
  fetchReceiver,
  type Receiver,
} from "./fixtures/verify-receivers.js";

guardFileLeaks();

const secret = () => `whsec_${randomBytes(32).toString("base64")}`;
const NEW = secret();
const OLD = secret();
const keel = await startTestKeel({ role: "all", env: { KEEL_SIGNING_SECRET: `${NEW} ${OLD}` } });
const client = new KeelClient({ baseUrl: keel.url, token: keel.admin });
// Mid-rotation: one receiver knows only the old secret, one only the new, one both.
const receivers: Record<string, Receiver> = {
  express: await expressReceiver([OLD]),
  fastify: await fastifyReceiver([NEW]),
  fetch: await fetchReceiver([NEW, OLD]),
};

async function delivered(ids: string[]): Promise<void> {
  await waitFor(
    async () => {
      const jobs = await Promise.all(ids.map((id) => client.jobs.get(id)));
      const failed = jobs.find((j) => j.attempts.some((a) => a.outcome === "failed"));
      if (failed) assert.fail(`job ${failed.id} failed: ${JSON.stringify(failed.attempts)}`);
      return jobs.every((j) => j.state === "succeeded");
    },
    20_000,
    "the deliveries",
  );
}

test("Express, Fastify and Fetch receivers accept genuine deliveries with their typed details", async () => {
  const paths: [string, string, "POST" | "GET"][] = [
    ["express", "/hook", "POST"],
    ["express", "/raw", "POST"],
    ["express", "/hook", "GET"],
    ["fastify", "/hook", "POST"],
    ["fetch", "/hook", "POST"],
    ["fetch", "/next", "POST"],
  ];
  const created = await client.jobs.createMany(
    paths.map(([name, path, method], i) => ({
      queue: "sdk-deliveries",
      target: { url: `${receivers[name]?.url}${path}`, method },
      payload: { n: i, name: "Zoë" },
      tenant: "Zürich AG",
    })),
  );
  await delivered(created.map((j) => j.id));
  for (const [i, [name, path, method]] of paths.entries()) {
    const id = created[i]?.id as string;
    const seen = receivers[name]?.accepted.find((a) => a.delivery.jobId === id);
    assert.ok(seen, `${name} ${method} ${path} recorded job ${id}`);
    const { delivery, appBody } = seen;
    assert.equal(delivery.attempt, 1);
    assert.equal(delivery.queue, "sdk-deliveries");
    assert.equal(delivery.tenant, "Zürich AG");
    assert.equal(delivery.webhookId, `msg_${id}`);
    assert.ok(Math.abs(delivery.timestamp.getTime() - Date.now()) < 60_000);
    assert.equal(delivery.schedule, null);
    if (method === "GET") {
      assert.equal(delivery.payload, undefined);
      continue;
    }
    assert.deepEqual(delivery.payload, { n: i, name: "Zoë" });
    assert.deepEqual(appBody, delivery.payload, `${name} ${path}: the app still reads the payload`);
  }
});

test("a tampered, unsigned or mislabelled copy of a genuine delivery is refused by every adapter", async () => {
  const spy = await startScriptedServer((_n, _req, res) => res.writeHead(200).end());
  const { id } = await client.jobs.create({
    queue: "sdk-deliveries",
    target: { url: `${spy.url}/capture` },
    payload: { amount: 10 },
  });
  await delivered([id]);
  const genuine = spy.requests[0];
  assert.ok(genuine);
  const headers: Record<string, string> = {};
  for (const name of [
    "content-type",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "keel-job-id",
    "keel-attempt",
    "keel-queue",
  ]) {
    headers[name] = String(genuine.headers[name]);
  }
  const { "webhook-signature": _, ...unsigned } = headers;
  const cases: [string, Record<string, string>, string, number, string | null][] = [
    ["genuine", headers, genuine.body, 204, null],
    ["tampered body", headers, genuine.body.replace("10", "1000"), 401, "bad_signature"],
    ["another job's id", { ...headers, "keel-job-id": "1" }, genuine.body, 401, "header_mismatch"],
    ["no signature", unsigned, genuine.body, 401, "missing_signature"],
    [
      "forged signature",
      { ...headers, "webhook-signature": `v1,${randomBytes(32).toString("base64")}` },
      genuine.body,
      401,
      "bad_signature",
    ],
  ];
  for (const [name, receiver] of Object.entries(receivers)) {
    const paths = name === "fetch" ? ["/hook", "/next"] : ["/hook"];
    for (const path of paths) {
      for (const [label, sent, body, status, reason] of cases) {
        const res = await fetch(`${receiver.url}${path}`, { method: "POST", headers: sent, body });
        assert.equal(res.status, status, `${name}${path} ${label}`);
        if (reason) {
          const answer = (await res.json()) as { error: { code: string; reason: string } };
          assert.equal(answer.error.code, "delivery_verification_failed");
          assert.equal(answer.error.reason, reason, `${name}${path} ${label}`);
        }
      }
    }
  }
  // Fastify's plugin stays in its scope: the rest of the app still parses JSON as usual.
  const plain = await fetch(`${receivers.fastify?.url}/plain-json`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: '{"a":1}',
  });
  assert.deepEqual(await plain.json(), { echo: { a: 1 } });
});

test("a scheduled run's delivery carries its schedule and fire time", async () => {
  await client.schedules.put("sdk-verify-nightly", {
    cron: "0 3 * * *",
    target: { url: `${receivers.fetch?.url}/next` },
    queue: "sdk-deliveries",
    payload: { report: "nightly" },
  });
  const run = await client.schedules.trigger("sdk-verify-nightly");
  const jobId = run.jobs[0]?.jobId as string;
  await delivered([jobId]);
  const seen = receivers.fetch?.accepted.find((a) => a.delivery.jobId === jobId);
  assert.ok(seen);
  assert.equal(seen.delivery.schedule, "sdk-verify-nightly");
  assert.equal(seen.delivery.fireTime?.getTime(), Date.parse(run.fireTime));
  assert.deepEqual(seen.delivery.payload, { report: "nightly" });
});
