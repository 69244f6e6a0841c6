import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { after, describe, test } from "node:test";
import { Engine, MAX_EVENT_ID_LENGTH } from "@keel/engine";
import { Webhook } from "standardwebhooks";
import { freshSchema, testDatabaseUrl } from "../../engine/test/helpers.js";
import { buildApp } from "../src/http/app.js";
import { KeelMetrics } from "../src/metrics/index.js";
import { guardServerLeaks } from "./helpers.js";

// A correctly signed request whose event id is too long to store, posted among many valid
// concurrent ones (issue 12, defect 3): it is refused on its own, the others are committed.

const engine = await Engine.connect({
  migrate: true,
  connectionString: testDatabaseUrl(),
  schema: freshSchema("poison"),
});
after(() => engine.close());
guardServerLeaks();

const secret = `whsec_${randomBytes(24).toString("base64")}`;
const githubSecret = randomBytes(20).toString("hex");
await engine.intake.sources.put(
  "partner",
  { provider: "standard", secrets: [secret], routes: [{ target: { handler: "ledger" } }] },
  { managedBy: "api" },
);
await engine.intake.sources.put("gh", { provider: "github", secrets: [githubSecret] }, { managedBy: "api" });

const metrics = new KeelMetrics({ engine });
const app = buildApp({
  pool: engine.pool,
  schema: engine.schema,
  role: "all",
  api: { engine, adminToken: `admin-${randomBytes(24).toString("hex")}` },
  metrics,
});
await app.listen({ port: 0, host: "127.0.0.1", backlog: 1024 });
after(() => app.close());
const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

function standard(id: string): Promise<Response> {
  const body = JSON.stringify({ type: "invoice.paid", data: { id } });
  // One instant for the signature and the header: two clock readings can straddle a second.
  const at = new Date();
  const signature = new Webhook(secret).sign(id, at, body);
  return fetch(`${base}/in/partner`, {
    method: "POST",
    body,
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": signature,
    },
  });
}

describe("an event id too long to store", () => {
  test("a signed Standard Webhooks request with a 3 KB webhook-id: 400 event_id_too_long; 200 concurrent valid ones stored", async () => {
    const ids = Array.from({ length: 200 }, (_, i) => `msg_${i}_${randomBytes(4).toString("hex")}`);
    // Random, so Postgres cannot compress it under the index row limit.
    const poison = `msg_${randomBytes(1_500).toString("hex")}`;
    const responses = await Promise.all([
      ...ids.slice(0, 100).map(standard),
      standard(poison),
      ...ids.slice(100).map(standard),
    ]);
    const refused = responses[100] as Response;
    const refusal = (await refused.json()) as { error: { code: string; message: string } };
    assert.equal(refused.status, 400);
    assert.equal(refusal.error.code, "event_id_too_long");
    assert.match(
      refusal.error.message,
      new RegExp(`is ${poison.length} characters.*at most ${MAX_EVENT_ID_LENGTH}`),
    );
    const others = responses.filter((_, i) => i !== 100);
    assert.deepEqual(
      others.map((r) => r.status),
      ids.map(() => 200),
    );
    const stored = await engine.intake.events.list({ source: "partner" }, 1000);
    assert.deepEqual(new Set(stored.map((e) => e.eventId)), new Set(ids));
    // Counted and kept like every refusal, without the id's bulk in the detail.
    const text = await metrics.metrics();
    assert.match(text, /keel_intake_events_total\{source="partner",result="event_id_too_long"\} 1\n/);
    const [kept] = await engine.intake.sources.rejections("partner");
    assert.equal(kept?.reason, "event_id_too_long");
    assert.ok((kept?.detail ?? "").length < 300);
  });

  test("every provider: a GitHub delivery id over the limit is refused, not deduplicated on the body's digest", async () => {
    const body = JSON.stringify({ zen: "Keep it logically awesome." });
    const post = (delivery: string) =>
      fetch(`${base}/in/gh`, {
        method: "POST",
        body,
        headers: {
          "content-type": "application/json",
          "x-github-event": "ping",
          "x-github-delivery": delivery,
          "x-hub-signature-256": `sha256=${createHmac("sha256", githubSecret).update(body).digest("hex")}`,
        },
      });
    const long = await post("d".repeat(MAX_EVENT_ID_LENGTH + 1));
    assert.equal(long.status, 400);
    assert.equal(((await long.json()) as { error: { code: string } }).error.code, "event_id_too_long");
    const ok = await post("d".repeat(MAX_EVENT_ID_LENGTH));
    assert.equal(ok.status, 200);
  });
});
