import assert from "node:assert/strict";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import {
  createRateLimiter,
  keyByAddress,
  MemoryRateLimitStore,
  rateLimitExpress,
  rateLimitFastify,
  rateLimitFetch,
} from "../src/index.js";

// The adapters on real servers on loopback (Express, Fastify), a Fetch handler called as
// Next.js calls it, and the same handler inside Hono.

function limiter() {
  return createRateLimiter({
    store: new MemoryRateLimitStore(),
    policies: [{ name: "api", limit: 2, windowSeconds: 60 }],
  });
}

async function expectLimited(send: () => Promise<Response>): Promise<void> {
  const first = await send();
  assert.equal(first.status, 200);
  assert.equal(first.headers.get("ratelimit-policy"), '"api";q=2;w=60');
  assert.equal(first.headers.get("ratelimit"), '"api";r=1;t=30');
  assert.equal(first.headers.get("retry-after"), null);
  assert.equal((await send()).status, 200);
  const refused = await send();
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get("retry-after"), "30");
  assert.equal(refused.headers.get("ratelimit"), '"api";r=0;t=30');
  assert.match(refused.headers.get("content-type") ?? "", /application\/json/);
  const body = (await refused.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, "too_many_requests");
  assert.match(body.error.message, /rate limit 'api' reached\. Retry after 30 seconds/);
}

describe("Fetch handlers", () => {
  test("a Next.js route handler: limited per address, its context passed through", async () => {
    const ran: string[] = [];
    const limited = rateLimitFetch({
      limiter: limiter(),
      limits: (req) => ({ policy: "api", key: keyByAddress(req.headers.get("x-real-ip") ?? "0.0.0.0") }),
    });
    const POST = limited(async (_request: Request, context: { params: Promise<{ id: string }> }) => {
      ran.push((await context.params).id);
      return Response.json({ ok: true });
    });
    const send = () =>
      POST(
        new Request("http://app.test/api/orders/7", {
          method: "POST",
          headers: { "x-real-ip": "2001:db8::1" },
        }),
        {
          params: Promise.resolve({ id: "7" }),
        },
      );
    await expectLimited(send);
    assert.deepEqual(ran, ["7", "7"], "the refused request never reached the handler");
    // Another address in the same /64 shares the limit; another /64 does not.
    const sameNet = await POST(
      new Request("http://app.test/x", { headers: { "x-real-ip": "2001:db8::ffff" } }),
      { params: Promise.resolve({ id: "8" }) },
    );
    assert.equal(sameNet.status, 429);
    const otherNet = await POST(
      new Request("http://app.test/x", { headers: { "x-real-ip": "2001:db8:0:1::1" } }),
      { params: Promise.resolve({ id: "9" }) },
    );
    assert.equal(otherNet.status, 200);
  });

  test("a response with immutable headers is copied; no limits means no headers", async () => {
    const rl = limiter();
    const redirect = rateLimitFetch({ limiter: rl, limits: () => ({ policy: "api", key: "k" }) })(() =>
      Response.redirect("http://app.test/next", 302),
    );
    const res = await redirect(new Request("http://app.test/"));
    assert.equal(res.status, 302);
    assert.equal(res.headers.get("location"), "http://app.test/next");
    assert.equal(res.headers.get("ratelimit"), '"api";r=1;t=30');
    const open = rateLimitFetch({ limiter: rl, limits: () => undefined })(() => new Response("hi"));
    assert.equal((await open(new Request("http://app.test/health"))).headers.get("ratelimit-policy"), null);
  });

  test("inside Hono", async () => {
    const limited = rateLimitFetch({ limiter: limiter(), limits: () => ({ policy: "api", key: "hono" }) });
    const handler = limited(() => Response.json({ ok: true }));
    const app = new Hono().get("/x", (c) => handler(c.req.raw));
    await expectLimited(async () => app.request("/x"));
  });
});

describe("Express", () => {
  test("middleware on a real server: 429 with Retry-After; malformed checks reach the error handler", async () => {
    const app = express();
    app.set("trust proxy", false);
    const rl = limiter();
    app.use(
      "/api",
      rateLimitExpress({
        limiter: rl,
        limits: (req) => ({ policy: "api", key: keyByAddress(req.ip ?? "") }),
      }),
    );
    app.get("/api/x", (_req, res) => {
      res.json({ ok: true });
    });
    app.get(
      "/bad",
      rateLimitExpress({ limiter: rl, limits: () => ({ policy: "nope", key: "k" }) }),
      (_req, res) => {
        res.json({ ok: true });
      },
    );
    app.use(
      (err: { code?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
        res.status(500).json({ caught: err.code });
      },
    );
    const server = app.listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await expectLimited(() => fetch(`${base}/api/x`));
      const bad = await fetch(`${base}/bad`);
      assert.deepEqual(await bad.json(), { caught: "policy_not_found" });
    } finally {
      server.close();
      await once(server, "close");
    }
  });
});

describe("Fastify", () => {
  test("an onRequest hook on a real server: 429 with Retry-After, the route not run", async () => {
    const app = Fastify();
    let ran = 0;
    app.addHook(
      "onRequest",
      rateLimitFastify({
        limiter: limiter(),
        limits: (req) => ({ policy: "api", key: keyByAddress(req.ip) }),
      }),
    );
    app.get("/x", async () => {
      ran++;
      return { ok: true };
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      await expectLimited(() => fetch(`${base}/x`));
      assert.equal(ran, 2);
    } finally {
      await app.close();
    }
  });
});
