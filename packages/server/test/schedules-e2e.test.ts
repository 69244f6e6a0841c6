import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { Webhook } from "standardwebhooks";
import { freshSchema, testDatabaseUrl, waitFor } from "../../engine/test/helpers.js";
import { startKeel } from "../src/runtime/start.js";
import { startEndpoint } from "./fixtures/delivery-servers.js";
import { guardServerLeaks, memoryLogger, tempDir } from "./helpers.js";

guardServerLeaks();

test("the config example of DESIGN.md runs as written against a local receiver", async () => {
  const receiver = await startEndpoint((_, res) => res.writeHead(200).end("ok"));
  const base = `http://127.0.0.1:${receiver.port}`;
  // DESIGN.md's example, with the receiver's address for crm.example.com and one every-second
  // schedule so the real scheduler fires during the test.
  const config = `
queues:
  email: { concurrency: 10, maxAttempts: 8 }
schedules:
  maintenance-alerts:
    cron: "0 6 * * *"
    timezone: Europe/London
    target:
      url: ${base}/api/cron/maintenance-alerts
      method: GET
      headers: { Authorization: "Bearer \${CRON_SECRET}" }
  auto-chase-overdue-invoices:
    cron: "0 9 * * 1-5"
    fanOut: { tenants: [acme, globex] }
    target:
      url: ${base}/api/internal/cron/auto-chase-overdue-invoices
      headers: { AUTH: "\${QT_CRON_SECRET}", X-Company-Id: "{{tenant}}" }
  heartbeat:
    cron: "* * * * * *"
    target: { url: ${base}/api/cron/heartbeat }
sources:
  stripe:
    provider: stripe
    secrets: ["\${STRIPE_WEBHOOK_SECRET}"]
    routes:
      - events: ["customer.subscription.*", "invoice.paid"]
        target: { url: ${base}/api/webhooks/stripe }
`;
  const dir = tempDir("keel-design-example");
  const file = join(dir, "keel.config.yaml");
  writeFileSync(file, config);
  const signingSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  // Target headers read \${VAR} from the process environment at delivery time.
  const secrets = { CRON_SECRET: "cron-secret-value", QT_CRON_SECRET: "qt-cron-secret-value" };
  Object.assign(process.env, secrets);
  const { logger } = memoryLogger();
  const keel = await startKeel({
    env: {
      DATABASE_URL: testDatabaseUrl(),
      KEEL_SCHEMA: freshSchema("design"),
      PORT: "0",
      KEEL_CONFIG: file,
      KEEL_SIGNING_SECRET: signingSecret,
      KEEL_ADMIN_TOKEN: "admin-token-for-the-design-example-test-0123456789",
      CRON_SECRET: "cron-secret-value",
      QT_CRON_SECRET: "qt-cron-secret-value",
      STRIPE_WEBHOOK_SECRET: "whsec_test_design_example",
    },
    host: "127.0.0.1",
    logger,
  });
  try {
    const api = async (method: string, path: string) => {
      const res = await fetch(`http://127.0.0.1:${keel.port}${path}`, {
        method,
        headers: { authorization: "Bearer admin-token-for-the-design-example-test-0123456789" },
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const listed = await api("GET", "/v1/schedules");
    assert.deepEqual(
      (listed.body.schedules as { name: string; managedBy: string }[]).map((s) => `${s.name}:${s.managedBy}`),
      ["auto-chase-overdue-invoices:config", "heartbeat:config", "maintenance-alerts:config"],
    );

    // The every-second schedule fires through the real scheduler and the delivery worker.
    const heartbeats = () => receiver.received.filter((r) => r.url === "/api/cron/heartbeat");
    await waitFor(() => heartbeats().length >= 2, 10_000, "two heartbeat deliveries");
    const verifier = new Webhook(signingSecret);
    const seen = new Set<string>();
    for (const h of heartbeats()) {
      assert.equal(h.headers["keel-schedule"], "heartbeat");
      const fireTime = h.headers["keel-fire-time"] as string;
      assert.match(fireTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
      assert.ok(!seen.has(fireTime), "one delivery per slot");
      seen.add(fireTime);
      verifier.verify(h.body, h.headers as Record<string, string>);
    }

    const metrics = await (await fetch(`http://127.0.0.1:${keel.port}/metrics`)).text();
    const fired = /^keel_schedule_fires_total\{schedule="heartbeat",outcome="enqueued"\} (\d+)$/m.exec(
      metrics,
    );
    assert.ok(fired && Number(fired[1]) >= 2, "the fires are counted");
    assert.match(metrics, /^keel_schedule_lateness_seconds_count [1-9]\d*$/m);

    // The daily ones are triggered: the same request their slot makes.
    assert.equal((await api("POST", "/v1/schedules/maintenance-alerts/trigger")).status, 201);
    const chase = await api("POST", "/v1/schedules/auto-chase-overdue-invoices/trigger");
    assert.equal((chase.body.jobs as unknown[]).length, 2);
    await waitFor(
      () => receiver.received.some((r) => r.url === "/api/cron/maintenance-alerts"),
      10_000,
      "maintenance",
    );
    await waitFor(
      () => receiver.received.filter((r) => r.url.startsWith("/api/internal/cron/")).length === 2,
      10_000,
      "both tenants",
    );
    const alert = receiver.received.find((r) => r.url === "/api/cron/maintenance-alerts");
    assert.equal(alert?.method, "GET");
    assert.equal(alert?.headers.authorization, "Bearer cron-secret-value");
    assert.equal(alert?.headers["keel-schedule"], "maintenance-alerts");
    const tenants = receiver.received
      .filter((r) => r.url.startsWith("/api/internal/cron/"))
      .map((r) => [r.headers["x-company-id"], r.headers["keel-tenant"], r.headers.auth]);
    assert.deepEqual(tenants.sort(), [
      ["acme", "acme", "qt-cron-secret-value"],
      ["globex", "globex", "qt-cron-secret-value"],
    ]);
  } finally {
    await keel.stop();
    await receiver.close();
    for (const name of Object.keys(secrets)) delete process.env[name];
  }
});
