/**
 * Type tests for the public rate-limit surface: checked by `tsc -b` (tsconfig.tests.json), so a
 * change to what applications write against fails the build. The test body only asserts that
 * the file loaded.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { expectTypeOf } from "expect-type";
import type express from "express";
import type { FastifyInstance } from "fastify";
import type { Redis } from "ioredis";
import type { Pool } from "pg";
import {
  createRateLimiter,
  type DecisionEvent,
  type DecisionOutcome,
  type FailMode,
  keyByAddress,
  keyByToken,
  keyByUser,
  type LimitRequest,
  type MemoryRateLimitStore,
  type Policy,
  type PolicyResult,
  type PostgresRateLimitStore,
  type RateLimitDecision,
  type RateLimiter,
  type RateLimitStore,
  type RedisRateLimitStore,
  rateLimitExpress,
  rateLimitFastify,
  rateLimitFetch,
  rateLimitHeaders,
  validatePolicy,
} from "../src/index.js";

test("the rate-limit types compile (see the assertions in this file)", () => {
  assert.equal(typeof createRateLimiter, "function");
});

// Policies: name, limit and windowSeconds required; the rest optional; fail modes a closed set.
expectTypeOf<Policy>().toMatchTypeOf<{ name: string; limit: number; windowSeconds: number }>();
expectTypeOf<Pick<Policy, "burst" | "failMode" | "expectedReplicas">>().toEqualTypeOf<{
  burst?: number;
  failMode?: FailMode;
  expectedReplicas?: number;
}>();
expectTypeOf<FailMode>().toEqualTypeOf<"open" | "closed" | "fallback">();
// @ts-expect-error: a limit is required
const _noLimit: Policy = { name: "api", windowSeconds: 60 };
// @ts-expect-error: not a fail mode
const _badMode: Policy = { name: "api", limit: 1, windowSeconds: 1, failMode: "maybe" };
expectTypeOf(validatePolicy).returns.toHaveProperty("intervalUs").toEqualTypeOf<number>();

// Stores: the three built-ins are RateLimitStores; Redis takes a URL or an ioredis client, Postgres a pg pool.
expectTypeOf<MemoryRateLimitStore>().toMatchTypeOf<RateLimitStore>();
expectTypeOf<RedisRateLimitStore>().toMatchTypeOf<RateLimitStore>();
expectTypeOf<PostgresRateLimitStore>().toMatchTypeOf<RateLimitStore>();
expectTypeOf<ConstructorParameters<typeof RedisRateLimitStore>[0]>().toMatchTypeOf<{
  url?: string;
  client?: Redis;
}>();
expectTypeOf<ConstructorParameters<typeof PostgresRateLimitStore>[0]["pool"]>().toEqualTypeOf<Pool>();

// The limiter: one request or several; a decision with headers to copy onto a response.
expectTypeOf(createRateLimiter).returns.toEqualTypeOf<RateLimiter>();
expectTypeOf<RateLimiter["check"]>().parameter(0).toEqualTypeOf<LimitRequest | readonly LimitRequest[]>();
expectTypeOf<RateLimiter["check"]>().returns.resolves.toEqualTypeOf<RateLimitDecision>();
expectTypeOf<RateLimitDecision["headers"]>().toEqualTypeOf<Record<string, string>>();
expectTypeOf<RateLimitDecision["retryAfterSeconds"]>().toEqualTypeOf<number | undefined>();
expectTypeOf<PolicyResult["outcome"]>().toEqualTypeOf<DecisionOutcome>();
expectTypeOf<PolicyResult["failMode"]>().toEqualTypeOf<FailMode | undefined>();
expectTypeOf<DecisionEvent>().toEqualTypeOf<{ policy: string; outcome: DecisionOutcome }>();
expectTypeOf<DecisionOutcome>().toEqualTypeOf<
  | "allowed"
  | "denied"
  | "denied_by_other"
  | "fail_open"
  | "fail_closed"
  | "fallback_allowed"
  | "fallback_denied"
>();
expectTypeOf(rateLimitHeaders).returns.toEqualTypeOf<Record<string, string>>();

// Keys are plain strings.
expectTypeOf(keyByUser).parameter(0).toEqualTypeOf<string | number>();
expectTypeOf(keyByToken).returns.toEqualTypeOf<string>();
expectTypeOf(keyByAddress).returns.toEqualTypeOf<string>();

// Never called: these statements only need to compile.
export function middlewareTypes(limiter: RateLimiter, app: express.Express, fastify: FastifyInstance): void {
  // Fetch: the wrapped handler keeps the handler's extra arguments (a Next.js context).
  const wrap = rateLimitFetch({ limiter, limits: (req) => ({ policy: "api", key: req.url }) });
  const nextHandler = wrap(
    async (_req: Request, _ctx: { params: Promise<{ id: string }> }) => new Response(),
  );
  expectTypeOf(nextHandler).toEqualTypeOf<
    (request: Request, _ctx: { params: Promise<{ id: string }> }) => Promise<Response>
  >();
  expectTypeOf(wrap((_req: Request) => new Response())).toEqualTypeOf<
    (request: Request) => Promise<Response>
  >();

  // Express: usable as app.use middleware; `limits` sees req.ip, or the full express.Request when annotated.
  app.use(
    rateLimitExpress({ limiter, limits: (req) => ({ policy: "api", key: keyByAddress(req.ip ?? "") }) }),
  );
  app.use(
    rateLimitExpress({
      limiter,
      limits: (req: express.Request) => ({ policy: "api", key: String(req.query.user) }),
    }),
  );
  rateLimitExpress({
    limiter,
    // @ts-expect-error: limits must name a policy and a key
    limits: () => ({ key: "k" }),
  });

  // Fastify: an onRequest hook on the instance or on a route.
  fastify.addHook(
    "onRequest",
    rateLimitFastify({ limiter, limits: (req) => ({ policy: "api", key: keyByAddress(req.ip) }) }),
  );
  fastify.get("/x", { onRequest: rateLimitFastify({ limiter, limits: () => [] }) }, async () => "ok");
}
