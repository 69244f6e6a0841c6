/**
 * Type tests for the public surface of the client, verification, idempotency and worker parts
 * (checked by `tsc -b` through tsconfig.tests.json; the function below is compiled, never run),
 * plus a runtime check that the package exports what the docs promise.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Engine, Idempotency } from "@keel/engine";
import { expectTypeOf } from "expect-type";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import type { Redis } from "ioredis";
import * as sdk from "../src/index.js";
import {
  type ApiErrorCode,
  createWorker,
  type DeliveryVerificationError,
  defineHandlers,
  type HandlerJob,
  type IdempotencyStore,
  idempotencyExpress,
  idempotencyFastify,
  idempotencyFetch,
  type Job,
  type JobCreated,
  type JobInput,
  type JobSummary,
  type KeelApiError,
  type KeelClient,
  type KeelDelivery,
  postgresIdempotencyStore,
  redisIdempotencyStore,
  type VerificationFailure,
  verifyDelivery,
  verifyDeliveryExpress,
  verifyDeliveryFastify,
  verifyDeliveryFetch,
  verifyRequest,
} from "../src/index.js";

// Compiled by tsc, never called: the assertions are the types.
async function typeChecks(client: KeelClient, engine: Engine, redis: Redis): Promise<void> {
  // The client: typed results, typed inputs.
  expectTypeOf(client.jobs.create({ target: { handler: "h" } })).toEqualTypeOf<Promise<JobCreated>>();
  expectTypeOf(client.jobs.createMany([])).toEqualTypeOf<Promise<JobCreated[]>>();
  expectTypeOf(client.jobs.get("1")).toEqualTypeOf<Promise<Job>>();
  expectTypeOf(client.jobs.iterate({ queue: "q" })).toEqualTypeOf<AsyncGenerator<JobSummary>>();
  expectTypeOf(client.request<{ runs: unknown[] }>({ method: "GET", path: "/x" })).resolves.toHaveProperty(
    "runs",
  );
  // @ts-expect-error unknown options are compile errors too (the server answers unknown_option)
  client.jobs.create({ target: { handler: "h" }, delayMs: 10 });
  // @ts-expect-error a target is required
  client.jobs.create({ queue: "q" });
  // @ts-expect-error a method Keel does not deliver with
  client.jobs.create({ target: { url: "https://x.example", method: "HEAD" } });
  client.jobs.create({ target: { handler: "h" } }, { idempotencyKey: "signup-42" });
  expectTypeOf<KeelApiError["code"]>().toEqualTypeOf<ApiErrorCode>();
  expectTypeOf<"job_not_found">().toMatchTypeOf<ApiErrorCode>();
  expectTypeOf<KeelApiError["requestId"]>().toEqualTypeOf<string | undefined>();

  // Verification: typed details, payload of the caller's type.
  const delivery = await verifyDelivery<{ userId: number }>(
    { headers: {}, body: "" },
    { secrets: "whsec_x" },
  );
  expectTypeOf(delivery.payload).toEqualTypeOf<{ userId: number }>();
  expectTypeOf(delivery.fireTime).toEqualTypeOf<Date | null>();
  expectTypeOf(delivery.timestamp).toEqualTypeOf<Date>();
  expectTypeOf(delivery.tenant).toEqualTypeOf<string | null>();
  expectTypeOf<DeliveryVerificationError["reason"]>().toEqualTypeOf<VerificationFailure>();
  expectTypeOf(verifyRequest(new Request("http://x"), { secrets: [] })).toEqualTypeOf<
    Promise<KeelDelivery>
  >();
  // @ts-expect-error secrets are required
  verifyDelivery({ headers: {}, body: "" }, {});

  // Fetch: a Next.js route handler keeps its context argument; the payload is typed.
  const nextRoute = verifyDeliveryFetch({ secrets: "whsec_x" })<
    { userId: number },
    [{ params: { id: string } }]
  >(async (_request, d, context) => {
    expectTypeOf(d.payload.userId).toBeNumber();
    expectTypeOf(context.params.id).toBeString();
    return new Response(null);
  });
  expectTypeOf(nextRoute).parameters.toEqualTypeOf<[Request, { params: { id: string } }]>();
  const idempotentRoute = idempotencyFetch({ store: postgresIdempotencyStore({ engine }) })(
    async (_request: Request, context: { params: { id: string } }) => Response.json(context.params),
  );
  expectTypeOf(idempotentRoute).parameters.toEqualTypeOf<[Request, { params: { id: string } }]>();

  // Hono: the raw Request verifies; the adapters compose with Hono handlers.
  const hono = new Hono();
  hono.post("/hooks", async (c) => {
    const d = await verifyRequest<{ n: number }>(c.req.raw, { secrets: ["whsec_x"] });
    return c.json({ n: d.payload.n });
  });

  // Express: the middleware are Express request handlers.
  const app = express();
  const store: IdempotencyStore = redisIdempotencyStore({ redis });
  app.post("/hooks", verifyDeliveryExpress({ secrets: ["whsec_x"] }), (req, res) => {
    res.json(sdk.deliveryOf<{ n: number }>(req).payload.n);
  });
  app.post(
    "/orders",
    express.json(),
    idempotencyExpress({ store, scope: (req) => String(req.headers["x-user"]) }),
  );

  // Fastify: both are plugins for `register`, with typed options.
  const fastify = Fastify();
  fastify.register(verifyDeliveryFastify, { secrets: ["whsec_x"], toleranceSeconds: 60 });
  fastify.register(idempotencyFastify, {
    store,
    ttlSeconds: 3600,
    scope: (request) => request.headers.host ?? "",
  });
  // @ts-expect-error the store is required
  fastify.register(idempotencyFastify, { ttlSeconds: 3600 });

  // Stores: the engine's Idempotency is a store; Postgres from an engine or a connection string.
  expectTypeOf<Idempotency>().toMatchTypeOf<IdempotencyStore>();
  postgresIdempotencyStore({ connectionString: "postgres://x", schema: "keel", cache: { redis } });

  // The worker: handlers typed by one payload map, which also types the jobs enqueued.
  type Payloads = { sendWelcome: { userId: number }; renderPdf: { invoiceId: string } };
  const handlers = defineHandlers<Payloads>({
    sendWelcome: async ({ payload }) => {
      expectTypeOf(payload.userId).toBeNumber();
    },
    renderPdf: async ({ payload }) => {
      // @ts-expect-error renderPdf's payload has no userId
      payload.userId;
    },
  });
  createWorker({ connectionString: "postgres://x", handlers });
  const job: HandlerJob<Payloads> = { target: { handler: "sendWelcome" }, payload: { userId: 1 } };
  expectTypeOf(job).toMatchTypeOf<JobInput>();
  // @ts-expect-error the payload must match the handler's
  const wrong: HandlerJob<Payloads> = { target: { handler: "renderPdf" }, payload: { userId: 1 } };
  void wrong;
}
void typeChecks;

test("the package exports the client, verification, idempotency and worker surface", () => {
  const names = [
    "KeelClient",
    "KeelApiError",
    "KeelAuthError",
    "KeelConflictError",
    "KeelInvalidRequestError",
    "KeelNetworkError",
    "KeelNotFoundError",
    "KeelRateLimitedError",
    "KeelServerError",
    "OPERATIONS",
    "verifyDelivery",
    "createDeliveryVerifier",
    "verifyRequest",
    "verifyDeliveryFetch",
    "verifyDeliveryExpress",
    "verifyDeliveryFastify",
    "deliveryOf",
    "DeliveryVerificationError",
    "idempotencyFetch",
    "idempotencyExpress",
    "idempotencyFastify",
    "postgresIdempotencyStore",
    "redisIdempotencyStore",
    "createWorker",
    "defineHandlers",
    "NonRetryableError",
    "RetryAfterError",
    "KeelError",
  ];
  const exported = sdk as Record<string, unknown>;
  assert.deepEqual(
    names.filter((n) => exported[n] === undefined),
    [],
  );
  assert.ok(new Idempotency({} as Engine) instanceof Idempotency);
});
