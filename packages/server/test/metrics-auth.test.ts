import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Engine } from "@keel/engine";
import Fastify from "fastify";
import { testEngine } from "../../engine/test/helpers.js";
import { KeelMetrics, registerMetricsRoute } from "../src/metrics/index.js";
import { guardServerLeaks } from "./helpers.js";

guardServerLeaks();

const engine: Engine = await testEngine();
const metrics = new KeelMetrics({ engine });
const TOKEN = "s3cret-metrics-token-Zq81";

/** GETs /metrics from an app built with these route options; the app is closed afterwards. */
async function get(
  route: { token: string | undefined; production: boolean },
  authorization?: string,
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const app = Fastify();
  registerMetricsRoute(app, { metrics, ...route });
  try {
    const res = await app.inject({
      method: "GET",
      url: "/metrics",
      headers: authorization === undefined ? {} : { authorization },
    });
    return { status: res.statusCode, body: res.body, headers: res.headers };
  } finally {
    await app.close();
  }
}

/** Asserts a 401 in the error envelope that does not echo the token; returns its message. */
function assertUnauthorized(res: { status: number; body: string; headers: Record<string, unknown> }): string {
  assert.equal(res.status, 401);
  assert.match(String(res.headers["content-type"]), /^application\/json/);
  assert.match(String(res.headers["www-authenticate"]), /^Bearer /);
  const body = JSON.parse(res.body) as { error: { code: string; message: string } };
  assert.deepEqual(Object.keys(body), ["error"]);
  assert.equal(body.error.code, "unauthorized");
  assert.ok(body.error.message.length > 0);
  assert.ok(!res.body.includes(TOKEN), "the 401 never echoes the token");
  assert.ok(!res.body.includes("keel_"), "no metrics leak into a refusal");
  return body.error.message;
}

describe("with KEEL_METRICS_TOKEN configured", () => {
  const route = { token: TOKEN, production: true };

  test("no Authorization header: 401", async () => {
    assert.match(assertUnauthorized(await get(route)), /Authorization: Bearer/);
  });

  test("a wrong token, shorter, longer or of the same length: 401", async () => {
    for (const wrong of ["x", `${TOKEN}x`, `${TOKEN.slice(0, -1)}X`, TOKEN.toUpperCase()]) {
      assert.match(assertUnauthorized(await get(route, `Bearer ${wrong}`)), /does not match/);
    }
  });

  test("the token sent another way than Bearer: 401", async () => {
    assertUnauthorized(await get(route, TOKEN));
    assertUnauthorized(await get(route, `Basic ${Buffer.from(`u:${TOKEN}`).toString("base64")}`));
  });

  test("the right token: 200 with the Prometheus text format", async () => {
    for (const header of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`]) {
      const res = await get(route, header);
      assert.equal(res.status, 200);
      assert.equal(res.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
      assert.equal(res.headers["cache-control"], "no-store");
      assert.match(res.body, /^# TYPE keel_jobs_total counter$/m);
    }
  });

  test("in development a configured token is required too", async () => {
    assertUnauthorized(await get({ token: TOKEN, production: false }));
    assert.equal((await get({ token: TOKEN, production: false }, `Bearer ${TOKEN}`)).status, 200);
  });
});

describe("without a token", () => {
  test("development: open", async () => {
    const res = await get({ token: undefined, production: false });
    assert.equal(res.status, 200);
    assert.match(res.body, /^# TYPE keel_queue_depth gauge$/m);
  });

  test("an empty KEEL_METRICS_TOKEN counts as none", async () => {
    assert.equal((await get({ token: "", production: false })).status, 200);
    assertUnauthorized(await get({ token: "", production: true }, "Bearer "));
  });

  test("production: 401 for everyone, saying to set KEEL_METRICS_TOKEN", async () => {
    assert.match(assertUnauthorized(await get({ token: undefined, production: true })), /KEEL_METRICS_TOKEN/);
    assertUnauthorized(await get({ token: undefined, production: true }, "Bearer anything"));
  });
});
