/**
 * The Express CRM end to end against a real Keel: both cron auth styles delivered by Keel, the
 * per-company fan-out enqueueing email jobs the SDK pull worker runs, and a Stripe event signed
 * with the official `stripe` package posted to Keel's /in/stripe, forwarded to the app and
 * verified there with @keel/sdk/express.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { KeelClient } from "@keel/sdk/client";
import Stripe from "stripe";
import { waitFor } from "../../packages/engine/test/helpers.js";
import { listenFirst, startKeelFor } from "../keel-for-tests.js";
import { type CrmEvent, createCrm } from "./src/app.js";
import { type Payloads, startCrmWorker } from "./src/worker.js";

const DIR = fileURLToPath(new URL(".", import.meta.url));
const secrets = {
  CRON_SECRET: randomBytes(16).toString("hex"),
  QT_CRON_SECRET: randomBytes(16).toString("hex"),
  STRIPE_WEBHOOK_SECRET: `whsec_${randomBytes(24).toString("hex")}`,
};

// Keel's config needs the app's URL, and the app needs Keel's: listen first, serve the app after.
const http = await listenFirst();
const signingSecret = `whsec_${randomBytes(32).toString("base64")}`;
const keel = await startKeelFor(DIR, {
  KEEL_CONFIG: "keel.config.mjs",
  APP_URL: http.url,
  KEEL_SIGNING_SECRET: signingSecret,
  ...secrets,
});
const client = new KeelClient({ baseUrl: keel.url, token: keel.adminToken });
const crm = createCrm({
  cronSecret: secrets.CRON_SECRET,
  internalCronSecret: secrets.QT_CRON_SECRET,
  signingSecret,
  keel: client,
});
const seen: CrmEvent[] = [];
crm.events.on("event", (e: CrmEvent) => seen.push(e));
http.serve(crm.app);
const appUrl = http.url;
const reminders: Payloads["sendInvoiceReminder"][] = [];
const worker = startCrmWorker({
  connectionString: keel.databaseUrl,
  schema: keel.schema,
  send: (r) => {
    reminders.push(r);
  },
});
await worker.start();
after(() => worker.stop());

test("cron style 1: Keel calls GET /api/cron/maintenance-alerts with Authorization: Bearer ${CRON_SECRET}", async () => {
  const unauthenticated = await fetch(`${appUrl}/api/cron/maintenance-alerts`);
  assert.equal(unauthenticated.status, 401, "the endpoint refuses a call without the secret");
  const { jobs } = await client.schedules.trigger("maintenance-alerts");
  const jobId = jobs[0]?.jobId as string;
  const job = await waitFor(async () => {
    const j = await client.jobs.get(jobId);
    return j.state === "succeeded" || j.state === "dead" ? j : undefined;
  }, 30_000);
  assert.equal(job.state, "succeeded", JSON.stringify(job.attempts));
  assert.equal(seen.filter((e) => e.kind === "maintenance-alerts").length, 1);
});

test("cron style 2 with fan-out: one AUTH + X-Company-Id call per company; the SDK worker sends each reminder", async () => {
  const { jobs } = await client.schedules.trigger("auto-chase-overdue-invoices");
  assert.equal(jobs.length, 2, "one job per tenant");
  // The app records its call after createMany answers; the worker may send the reminders first.
  const chased = () => seen.filter((e) => e.kind === "auto-chase");
  await waitFor(
    () => reminders.length === 3 && chased().length === 2,
    30_000,
    "three reminders (acme: 2, globex: 1) and both calls recorded",
  );
  const companies = chased().map((e) => (e as { company: string }).company);
  assert.deepEqual(companies.sort(), ["acme", "globex"]);
  assert.deepEqual(reminders.map((r) => `${r.company}/${r.invoice}`).sort(), [
    "acme/INV-1",
    "acme/INV-2",
    "globex/INV-7",
  ]);
  const wrong = await fetch(`${appUrl}/api/internal/cron/auto-chase-overdue-invoices`, {
    method: "POST",
    headers: { AUTH: "wrong", "X-Company-Id": "acme" },
  });
  assert.equal(wrong.status, 401);
});

test("Stripe intake: a signed event posted to /in/stripe reaches /api/webhooks/stripe, verified with @keel/sdk/express", async () => {
  const stripe = new Stripe("sk_test_unused");
  const event = {
    id: `evt_${randomBytes(8).toString("hex")}`,
    object: "event",
    type: "invoice.paid",
    data: { object: { id: "in_1" } },
  };
  const payload = JSON.stringify(event);
  const header = stripe.webhooks.generateTestHeaderString({ payload, secret: secrets.STRIPE_WEBHOOK_SECRET });
  const post = (signature: string) =>
    fetch(`${keel.url}/in/stripe`, {
      method: "POST",
      headers: { "content-type": "application/json", "stripe-signature": signature },
      body: payload,
    });
  const forged = await post(
    stripe.webhooks.generateTestHeaderString({ payload, secret: "whsec_not_the_secret" }),
  );
  assert.equal(forged.status >= 400 && forged.status < 500, true, `forged: ${forged.status}`);
  const accepted = await post(header);
  assert.equal(accepted.status < 300, true, `${accepted.status} ${await accepted.text()}`);
  const forwarded = await waitFor(
    () => seen.find((e) => e.kind === "stripe" && e.eventId === event.id),
    30_000,
    "the event at the app",
  );
  assert.deepEqual(
    { ...forwarded, jobId: undefined },
    { kind: "stripe", type: "invoice.paid", eventId: event.id, jobId: undefined },
  );
  // Posted again (Stripe retries): deduplicated on the event id, no second job.
  const again = await post(header);
  assert.equal(again.status, 200);
  assert.equal(((await again.json()) as { duplicate: boolean }).duplicate, true);
  const unsigned = await fetch(`${appUrl}/api/webhooks/stripe`, { method: "POST", body: payload });
  assert.equal(unsigned.status, 401, "the app refuses what Keel did not sign");
});
