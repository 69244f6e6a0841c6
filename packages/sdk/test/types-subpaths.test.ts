/**
 * The subpath entries as an application imports them (by package name, through `exports`, so the
 * built dist): what each exports at run time, and, for `tsc -b`, that the Hono middleware fit
 * Hono's own `MiddlewareHandler` and the Next.js wrappers keep a route's signature.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { KeelDelivery } from "@keel/sdk/next";
import { expectTypeOf } from "expect-type";
import { Hono, type MiddlewareHandler } from "hono";

const EXPECTED: Record<string, string[]> = {
  client: ["KeelClient", "KeelApiError", "KeelNetworkError", "OPERATIONS"],
  verify: [
    "verifyDelivery",
    "createDeliveryVerifier",
    "verifyRequest",
    "verifyDeliveryFetch",
    "deliveryOf",
    "DeliveryVerificationError",
  ],
  ratelimit: [
    "createRateLimiter",
    "MemoryRateLimitStore",
    "keyByUser",
    "keyByAddress",
    "keyByToken",
    "rateLimitHeaders",
    "validatePolicy",
  ],
  "ratelimit/redis": ["RedisRateLimitStore", "rateLimitRedisOptions"],
  "ratelimit/postgres": ["PostgresRateLimitStore"],
  idempotency: ["idempotencyProtocol", "canonicalJson", "requestFingerprint"],
  "idempotency/redis": ["redisIdempotencyStore"],
  "idempotency/postgres": ["postgresIdempotencyStore"],
  worker: ["createWorker", "defineHandlers", "NonRetryableError", "RetryAfterError", "KeelError"],
  next: [
    "verifyDeliveryFetch",
    "verifyRequest",
    "refusalResponse",
    "idempotencyFetch",
    "rateLimitFetch",
    "createRateLimiter",
    "MemoryRateLimitStore",
    "keyByAddress",
  ],
  hono: ["verifyDeliveryHono", "rateLimitHono", "idempotencyHono", "deliveryOf"],
  express: ["verifyDeliveryExpress", "rateLimitExpress", "idempotencyExpress", "deliveryOf"],
  fastify: ["verifyDeliveryFastify", "rateLimitFastify", "idempotencyFastify", "deliveryOf"],
};

test("each subpath exports what docs/sdk/README.md lists", async () => {
  for (const [subpath, names] of Object.entries(EXPECTED)) {
    const module = (await import(`@keel/sdk/${subpath}`)) as Record<string, unknown>;
    assert.deepEqual(
      names.filter((n) => module[n] === undefined),
      [],
      `@keel/sdk/${subpath}`,
    );
  }
  // The edge entry leaves out what needs node:crypto.
  const next = (await import("@keel/sdk/next")) as Record<string, unknown>;
  assert.equal(next.keyByToken, undefined);
});

// Compiled by tsc -b, never run.
async function _types() {
  const { verifyDeliveryHono, rateLimitHono, idempotencyHono, deliveryOf } = await import("@keel/sdk/hono");
  const { createRateLimiter, MemoryRateLimitStore, verifyDeliveryFetch } = await import("@keel/sdk/next");
  const verify = verifyDeliveryHono({ secrets: "whsec_x" });
  expectTypeOf(verify).toMatchTypeOf<MiddlewareHandler>();
  const limiter = createRateLimiter({ store: new MemoryRateLimitStore(), policies: [] });
  // A typed Hono app takes them as route middleware.
  const app = new Hono<{ Variables: { user: string } }>();
  app.use("/api/*", rateLimitHono({ limiter, limits: (request) => ({ policy: "api", key: request.url }) }));
  app.post(
    "/hook",
    verify,
    idempotencyHono({ store: { begin: async () => ({ state: "started" }), finish: async () => {} } }),
    (c) => c.json(deliveryOf<{ n: number }>(c.req.raw).payload),
  );
  // Next.js: the wrapped handler keeps its context argument.
  const POST = verifyDeliveryFetch({ secrets: "whsec_x" })<
    { n: number },
    [{ params: Promise<{ id: string }> }]
  >(async (_request, delivery, context) => {
    expectTypeOf(delivery).toEqualTypeOf<KeelDelivery<{ n: number }>>();
    return Response.json({ id: (await context.params).id });
  });
  expectTypeOf(POST).parameters.toEqualTypeOf<[Request, { params: Promise<{ id: string }> }]>();
}
void _types;
