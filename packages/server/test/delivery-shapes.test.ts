import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, type TestContext, test } from "node:test";
import { openResources } from "@keel/engine";
import { type KeelDelivery, verifyDelivery } from "@keel/sdk/verify";
import { freshSchema, testDatabaseUrl, waitFor } from "../../engine/test/helpers.js";
import { type RunningKeel, startKeel } from "../src/runtime/start.js";
import { newSecret, type Received, startEndpoint, type TestEndpoint } from "./fixtures/delivery-servers.js";
import { memoryLogger, tempDir } from "./helpers.js";

// Every shape of request Keel sends — a JSON job, a GET schedule run, a fan-out run, a forwarded
// webhook event in any content type — verified by the SDK a receiver uses (issue 13), with the
// details each one carries.

// One Keel serves every subtest, so leaks are checked once, when the file ends.
after(() => assert.deepEqual(openResources(), [], `left open: ${openResources().join(", ")}`));

const SIGNING = newSecret();
const ADMIN = "admin-token-for-the-delivery-shapes-test-0123456789";
const FORMS_TOKEN = "forms-token-for-the-delivery-shapes-test";
let receiver: TestEndpoint;
let base: string;

async function start(): Promise<RunningKeel> {
  receiver = await startEndpoint((_, res) => res.writeHead(204).end());
  const config = `
schedules:
  nightly:
    cron: "* * * * * *"
    target: { url: ${receiver.origin}/cron/nightly, method: GET }
  chase:
    cron: "* * * * * *"
    fanOut: { tenants: [acme, globex] }
    target: { url: ${receiver.origin}/cron/chase }
sources:
  forms:
    provider: bearer
    secrets: ["\${FORMS_TOKEN}"]
    routes:
      - target: { url: ${receiver.origin}/hooks/forms }
`;
  const file = join(tempDir("keel-delivery-shapes"), "keel.config.yaml");
  writeFileSync(file, config);
  const { logger } = memoryLogger();
  const keel = await startKeel({
    env: {
      DATABASE_URL: testDatabaseUrl(),
      KEEL_SCHEMA: freshSchema("shapes"),
      PORT: "0",
      KEEL_CONFIG: file,
      KEEL_SIGNING_SECRET: SIGNING,
      KEEL_ADMIN_TOKEN: ADMIN,
      FORMS_TOKEN,
    },
    host: "127.0.0.1",
    logger,
  });
  base = `http://127.0.0.1:${keel.port}`;
  return keel;
}

/** The first request the receiver got at `path` (waiting for it), verified by the SDK. */
async function delivered(path: string, which: (r: Received) => boolean = () => true): Promise<KeelDelivery> {
  const found = await waitFor(() => receiver.received.find((r) => r.url === path && which(r)));
  return verifyDelivery({ headers: found.headers, body: found.body }, { secrets: SIGNING });
}

// One Keel for every shape (its schedules fire every second); each shape is a subtest.
test("every delivery shape verifies with @keel/sdk/verify", async (t) => {
  const keel = await start();
  try {
    await shapes(t);
  } finally {
    await keel.stop();
    await receiver.close();
  }
});

async function shapes(t: TestContext): Promise<void> {
  await t.test("a JSON job: id, attempt, queue, tenant and the payload", async () => {
    const res = await fetch(`${base}/v1/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({
        queue: "mail",
        tenant: "acme",
        target: { url: `${receiver.origin}/jobs/mail` },
        payload: { userId: 42, note: "grüße" },
      }),
    });
    assert.equal(res.status, 201);
    const { id } = (await res.json()) as { id: string };
    const delivery = await delivered("/jobs/mail");
    assert.equal(delivery.jobId, id);
    assert.equal(delivery.attempt, 1);
    assert.equal(delivery.queue, "mail");
    assert.equal(delivery.tenant, "acme");
    assert.equal(delivery.contentType, "application/json");
    assert.deepEqual(delivery.payload, { userId: 42, note: "grüße" });
    assert.equal(delivery.schedule, null);
    assert.equal(delivery.source, null);
  });

  await t.test("a GET schedule run: schedule and fire time, no body", async () => {
    const delivery = await delivered("/cron/nightly");
    assert.equal(delivery.schedule, "nightly");
    assert.ok(delivery.fireTime instanceof Date && !Number.isNaN(delivery.fireTime.getTime()));
    assert.equal(delivery.body, "");
    assert.equal(delivery.payload, undefined);
    assert.equal(delivery.tenant, null);
  });

  await t.test("a fan-out run: one delivery per tenant, each with the schedule and the slot", async () => {
    const acme = await delivered("/cron/chase", (r) => r.headers["keel-tenant"] === "acme");
    const globex = await delivered("/cron/chase", (r) => r.headers["keel-tenant"] === "globex");
    for (const [delivery, tenant] of [
      [acme, "acme"],
      [globex, "globex"],
    ] as const) {
      assert.equal(delivery.tenant, tenant);
      assert.equal(delivery.schedule, "chase");
      assert.ok(delivery.fireTime instanceof Date);
    }
    assert.notEqual(acme.jobId, globex.jobId);
  });

  for (const [name, contentType, body, payload] of [
    [
      "form-encoded",
      "application/x-www-form-urlencoded",
      "CallSid=CA1&From=%2B15551234567&Body=hi+there",
      undefined,
    ],
    [
      "JSON",
      "application/json; charset=utf-8",
      '{"type":"order.created","id":7}',
      { type: "order.created", id: 7 },
    ],
    ["XML", "application/xml", "<event><id>8</id></event>", undefined],
    ["plain text", "text/plain", "ping", undefined],
  ] as const) {
    await t.test(`a forwarded ${name} event: its own content type and bytes, source and event`, async () => {
      const sent = await fetch(`${base}/in/forms`, {
        method: "POST",
        headers: { authorization: `Bearer ${FORMS_TOKEN}`, "content-type": contentType },
        body,
      });
      assert.equal(sent.status, 200, await sent.text());
      const delivery = await delivered("/hooks/forms", (r) => r.body === body);
      assert.equal(delivery.source, "forms");
      assert.ok(delivery.event, "the stored event's id");
      assert.equal(delivery.contentType, contentType);
      assert.equal(delivery.body, body);
      assert.deepEqual(delivery.payload, payload);
      if (name === "form-encoded") {
        assert.equal(new URLSearchParams(delivery.body).get("From"), "+15551234567");
      }
      // The event the delivery names is the one Keel stored.
      const event = await fetch(`${base}/v1/events/${delivery.event}`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      assert.equal(event.status, 200);
      assert.equal(((await event.json()) as { source: string }).source, "forms");
    });
  }
}
