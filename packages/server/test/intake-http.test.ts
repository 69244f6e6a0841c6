import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { after, describe, test } from "node:test";
import { Engine, type JobSummary } from "@keel/engine";
import { Webhook } from "standardwebhooks";
import Stripe from "stripe";
import { freshSchema, testDatabaseUrl, waitFor } from "../../engine/test/helpers.js";
import { sourcesSchema, syncSources } from "../src/config/sources.js";
import { startDeliveryWorker } from "../src/delivery/deliver.js";
import { buildApp } from "../src/http/app.js";
import { KeelMetrics } from "../src/metrics/index.js";
import { newSecret, type Received, startEndpoint } from "./fixtures/delivery-servers.js";
import { guardServerLeaks, memoryLogger } from "./helpers.js";

// POST /in/:source on a real server on loopback, real Postgres, and the delivery worker
// forwarding to a real receiver.

const engine = await Engine.connect({
  migrate: true,
  connectionString: testDatabaseUrl(),
  schema: freshSchema("intake"),
});
after(() => engine.close());
guardServerLeaks();

const stripe = new Stripe("sk_test_unused");
const stripeSecret = `whsec_${randomBytes(24).toString("base64")}`;
const hmacSecret = randomBytes(20).toString("hex");
const bearerToken = randomBytes(16).toString("hex");
const keelSecret = newSecret();
const appToken = `app_${randomBytes(8).toString("hex")}`;
const env: NodeJS.ProcessEnv = {
  STRIPE_WEBHOOK_SECRET: stripeSecret,
  FORMS_SECRET: hmacSecret,
  PARTNER_TOKEN: bearerToken,
  APP_TOKEN: appToken,
};

const receiver = await startEndpoint((_req, res) => res.end("ok"));
after(() => receiver.close());

const sources = sourcesSchema.parse({
  billing: {
    provider: "stripe",
    secrets: ["${STRIPE_WEBHOOK_SECRET}"],
    routes: [
      {
        events: ["customer.subscription.*", "invoice.paid"],
        target: { url: `${receiver.origin}/stripe`, headers: { authorization: "Bearer ${APP_TOKEN}" } },
        queue: "intake-forward",
      },
      { events: ["*"], target: { handler: "ledger" }, queue: "ledger" },
    ],
  },
  forms: {
    provider: "hmac",
    secrets: ["${FORMS_SECRET}"],
    hmac: { header: "X-Forms-Signature", prefix: "sha256=" },
    eventId: { header: "X-Forms-Delivery" },
    routes: [{ target: { url: `${receiver.origin}/forms` }, queue: "intake-forward" }],
  },
  partner: {
    provider: "bearer",
    secrets: ["${PARTNER_TOKEN}"],
    bodyLimitBytes: 1024,
    eventType: { path: "kind" },
  },
});
await syncSources(engine, sources, env);
// Made through the API with a reference this process cannot resolve.
await engine.intake.sources.put(
  "orphan",
  { provider: "github", secrets: ["${NOT_SET_ANYWHERE}"] },
  {
    managedBy: "api",
  },
);

const { logger, lines } = memoryLogger();
const metrics = new KeelMetrics({ engine });
const app = buildApp({
  pool: engine.pool,
  schema: engine.schema,
  role: "all",
  api: { engine, adminToken: `admin-${randomBytes(24).toString("hex")}` },
  metrics,
  logger,
  env,
});
// 1,000 connections arrive at once below: a backlog above the default 511 keeps the kernel
// from refusing some of them before the server can accept.
await app.listen({ port: 0, host: "127.0.0.1", backlog: 2048 });
after(() => app.close());
const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

function post(source: string, body: string | Buffer, headers: Record<string, string>) {
  return fetch(`${base}/in/${source}`, { method: "POST", body, headers });
}

function stripeEvent(id: string, type: string): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify({ id, object: "event", type, data: { object: { id: "sub_1" } } });
  const signature = stripe.webhooks.generateTestHeaderString({ payload: body, secret: stripeSecret });
  return { body, headers: { "content-type": "application/json", "stripe-signature": signature } };
}

async function jobsOf(eventId: string): Promise<JobSummary[]> {
  return engine.intake.events.jobs(eventId);
}

async function metric(source: string, result: string): Promise<number> {
  const text = await metrics.metrics();
  const line = text
    .split("\n")
    .find((l) => l.startsWith(`keel_intake_events_total{source="${source}",result="${result}"}`));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

describe("accepting", () => {
  test("1,000 concurrent posts of one event: every caller 200, one event stored, one job per route", async () => {
    const { body, headers } = stripeEvent(
      `evt_${randomBytes(8).toString("hex")}`,
      "customer.subscription.updated",
    );
    const answers = await Promise.all(
      Array.from({ length: 1000 }, async () => {
        const res = await post("billing", body, headers);
        return { status: res.status, body: (await res.json()) as { id: string; duplicate: boolean } };
      }),
    );
    assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]));
    assert.equal(new Set(answers.map((a) => a.body.id)).size, 1, "every caller names the same event");
    assert.equal(answers.filter((a) => !a.body.duplicate).length, 1);
    const stored = await engine.pool.query(
      `select count(*)::int as n from "${engine.schema}".events where source = 'billing' and event_id = $1`,
      [JSON.parse(body).id],
    );
    assert.equal(stored.rows[0].n, 1);
    const jobs = await jobsOf(answers[0]?.body.id as string);
    assert.deepEqual(jobs.map((j) => j.queue).sort(), ["intake-forward", "ledger"]);
    assert.equal(await metric("billing", "accepted"), 1);
    assert.equal(await metric("billing", "duplicate"), 999);
  });

  test("routing by type: an unmatched type still is stored; a body without an id dedupes on its digest", async () => {
    const { body, headers } = stripeEvent("evt_unmatched", "charge.refunded");
    const res = await post("billing", body, headers);
    const { id } = (await res.json()) as { id: string };
    assert.deepEqual(
      (await jobsOf(id)).map((j) => j.queue),
      ["ledger"],
      "only the * route",
    );
    const form = "name=Ada&plan=pro";
    const signature = `sha256=${createHmac("sha256", hmacSecret).update(form).digest("hex")}`;
    const formHeaders = {
      "content-type": "application/x-www-form-urlencoded",
      "x-forms-signature": signature,
    };
    const first = (await (await post("forms", form, formHeaders)).json()) as {
      id: string;
      duplicate: boolean;
    };
    const again = (await (await post("forms", form, formHeaders)).json()) as {
      id: string;
      duplicate: boolean;
    };
    assert.deepEqual(again, { id: first.id, duplicate: true });
    const event = await engine.intake.events.get(first.id);
    assert.match(event.eventId, /^sha256:[0-9a-f]{64}$/);
    assert.equal(event.body.toString(), form, "stored raw, not parsed");
  });
});

describe("forwarding", () => {
  test("the target receives the raw body, original content type and provider headers, signed by Keel", async () => {
    const worker = await startDeliveryWorker({
      engine,
      queues: ["intake-forward"],
      signingSecrets: [keelSecret],
      production: false,
      // The source is synced from config: its routes' jobs may read what the config names.
      variables: { env, config: ["APP_TOKEN"] },
      worker: { pollIntervalMs: 50 },
    });
    after(() => worker.stop());
    const { body, headers } = stripeEvent("evt_forward", "invoice.paid");
    const stripeAnswer = (await (await post("billing", body, headers)).json()) as { id: string };
    const form = "a=1&b=%C3%A9";
    const formHeaders = {
      "content-type": "application/x-www-form-urlencoded; charset=utf-8",
      "x-forms-signature": `sha256=${createHmac("sha256", hmacSecret).update(form).digest("hex")}`,
      "x-forms-delivery": "d-77",
      "x-forwarded-for": "203.0.113.9",
    };
    const formAnswer = (await (await post("forms", form, formHeaders)).json()) as { id: string };
    const delivered = (id: string) => receiver.received.find((r) => r.headers["keel-event"] === id);
    await waitFor(() => delivered(stripeAnswer.id) && delivered(formAnswer.id), 10_000, "both deliveries");

    const verifier = new Webhook(keelSecret);
    const toStripe = delivered(stripeAnswer.id) as Received;
    assert.equal(toStripe.body, body, "the raw bytes");
    verifier.verify(toStripe.body, toStripe.headers as Record<string, string>);
    assert.equal(toStripe.headers["content-type"], "application/json");
    assert.equal(
      toStripe.headers["stripe-signature"],
      headers["stripe-signature"],
      "the provider's own signature",
    );
    assert.equal(toStripe.headers.authorization, `Bearer ${appToken}`, "the route's own header");
    assert.equal(toStripe.headers["keel-source"], "billing");
    assert.equal(toStripe.headers["keel-event"], stripeAnswer.id);
    // An existing handler's own Stripe check still passes on the forwarded request.
    assert.equal(
      stripe.webhooks.constructEvent(
        toStripe.body,
        String(toStripe.headers["stripe-signature"]),
        stripeSecret,
      ).id,
      "evt_forward",
    );

    const toForms = delivered(formAnswer.id) as Received;
    assert.equal(toForms.body, form);
    // verify() would parse the body as JSON after checking it; sign() computes what must be there.
    const h = toForms.headers as Record<string, string>;
    const expected = verifier.sign(
      h["webhook-id"] as string,
      new Date(Number(h["webhook-timestamp"]) * 1000),
      form,
    );
    assert.equal(h["webhook-signature"], expected);
    assert.equal(toForms.headers["content-type"], "application/x-www-form-urlencoded; charset=utf-8");
    assert.equal(toForms.headers["x-forms-delivery"], "d-77");
    assert.equal(toForms.headers["x-forwarded-for"], undefined, "proxy headers are not forwarded");
    assert.equal(toStripe.url, "/stripe");
    assert.equal(toForms.url, "/forms");

    // The jobs carry the event's id, not its body.
    // The receiver may answer before the worker has recorded the completion: wait for both.
    const rows = await waitFor(async () => {
      const r = await engine.pool.query(
        `select payload, origin from "${engine.schema}".job_history where origin ->> 'event' = any($1)`,
        [[stripeAnswer.id, formAnswer.id]],
      );
      return r.rows.length === 2 ? r : undefined;
    });
    for (const r of rows.rows) assert.equal(r.payload, null);
    await waitFor(async () => (await engine.intake.events.get(formAnswer.id)).status === "delivered");
    await worker.stop();
  });
});

describe("refusing", () => {
  test("each refusal answers its reason code, is counted, kept redacted, and logged without secrets", async () => {
    const { body, headers } = stripeEvent("evt_refused", "invoice.paid");
    const cases: [string, Promise<Response>, number, string][] = [
      ["billing", post("billing", body, { "content-type": "application/json" }), 400, "missing_signature"],
      [
        "billing",
        post("billing", body, {
          ...headers,
          "stripe-signature": stripe.webhooks.generateTestHeaderString({
            payload: body,
            secret: newSecret(),
          }),
        }),
        401,
        "bad_signature",
      ],
      [
        "billing",
        post("billing", body, {
          ...headers,
          "stripe-signature": stripe.webhooks.generateTestHeaderString({
            payload: body,
            secret: stripeSecret,
            timestamp: Math.floor(Date.now() / 1000) - 301,
          }),
        }),
        401,
        "timestamp_out_of_tolerance",
      ],
      [
        "partner",
        post("partner", "x".repeat(2048), { authorization: `Bearer ${bearerToken}` }),
        413,
        "body_too_large",
      ],
      ["partner", post("partner", "{}", { authorization: "Bearer guess-what" }), 401, "bad_signature"],
      ["_unknown", post("nope", "{}", {}), 404, "unknown_source"],
    ];
    for (const [source, pending, status, code] of cases) {
      const res = await pending;
      const answer = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(res.status, status, code);
      assert.equal(answer.error.code, code);
      assert.equal(await metric(source, code), 1, `${source} ${code} counted once`);
    }
    const billing = await engine.intake.sources.rejections("billing");
    assert.deepEqual(billing.map((r) => r.reason).sort(), [
      "bad_signature",
      "missing_signature",
      "timestamp_out_of_tolerance",
    ]);
    const stale = billing.find((r) => r.reason === "timestamp_out_of_tolerance");
    assert.match(stale?.detail ?? "", /is 30[12] seconds from Keel's clock/);
    const partner = await engine.intake.sources.rejections("partner");
    const forged = partner.find((r) => r.reason === "bad_signature");
    assert.ok(forged);
    assert.equal(forged.headers.authorization, undefined, "the credential header is not kept at all");
    assert.equal(partner.find((r) => r.reason === "body_too_large")?.bodySize, 2048);
    // Nothing Keel logged or kept holds a secret or the guessed credential's value.
    const kept = JSON.stringify([lines, billing, partner]);
    for (const secret of [stripeSecret, bearerToken, hmacSecret, "guess-what"]) {
      assert.equal(kept.includes(secret), false, "a secret reached the log or the rejections");
    }
    assert.ok(lines.some((l) => l.msg === "intake: request refused" && l.reason === "bad_signature"));
  });

  test("a source whose secret variable is unset answers 503 source_misconfigured (the provider retries)", async () => {
    const res = await post("orphan", "{}", { "x-hub-signature-256": "sha256=00" });
    assert.equal(res.status, 503);
    const answer = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(answer.error.code, "source_misconfigured");
    assert.match(answer.error.message, /secrets\[0\]: \$\{NOT_SET_ANYWHERE\} is not set/);
  });
});
