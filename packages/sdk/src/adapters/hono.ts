// @keel/sdk/hono: Hono middleware (delivery verification, rate limits, Idempotency-Key) over the
// Fetch adapters: each takes Hono's context `c` and works on `c.req.raw`, the standard Request.
// Runtime-neutral (Node, Bun, Deno, Cloudflare Workers); no dependency on hono's types.
import { type IdempotencyFetchOptions, idempotentRequest } from "../idempotency/fetch.js";
import { idempotencyProtocol } from "../idempotency/protocol.js";
import { withHeaders } from "../ratelimit/middleware/fetch.js";
import { decideFor, type RateLimitMiddlewareOptions, refusalBody } from "../ratelimit/middleware/shared.js";
import { attachDelivery } from "../verify/attached.js";
import { DeliveryVerificationError } from "../verify/errors.js";
import { refusalResponse, verifyRequest } from "../verify/fetch.js";
import { createDeliveryVerifier, type VerifyOptions } from "../verify/verify.js";

export type { IdempotencyFetchOptions } from "../idempotency/fetch.js";
export type { RateLimitMiddlewareOptions } from "../ratelimit/middleware/shared.js";
export { deliveryOf } from "../verify/attached.js";

/** The parts of Hono's `Context` the middleware use. */
export interface HonoContextLike {
  req: { raw: Request };
  res: Response;
  /** Set by Hono when a later handler threw (its 500 is then in `res`). */
  error?: unknown;
}

/** A Hono middleware: `app.use(path, middleware)` or a route's handler list. */
export type HonoMiddleware = (c: HonoContextLike, next: () => Promise<void>) => Promise<Response | undefined>;

/**
 * Verifies Keel's signature on each request before the route runs; a forged, stale or unsigned
 * request gets 401 with `delivery_verification_failed`. The route reads the verified delivery with
 * `deliveryOf(c.req.raw)`; the body stays unread, so `c.req.json()` works as usual.
 *
 * @example
 * app.post("/keel/jobs", verifyDeliveryHono({ secret: process.env.KEEL_SIGNING_SECRET }), (c) => {
 *   const { payload, jobId } = deliveryOf<{ orderId: string }>(c.req.raw);
 *   return c.json({ ok: true });
 * });
 */
export function verifyDeliveryHono(options: VerifyOptions): HonoMiddleware {
  const verify = createDeliveryVerifier(options);
  return async (c, next) => {
    try {
      attachDelivery(c.req.raw, await verifyRequest(c.req.raw, verify));
    } catch (err) {
      if (err instanceof DeliveryVerificationError) return refusalResponse(err);
      throw err;
    }
    await next();
    return undefined;
  };
}

/**
 * Charges each request against the limiter: over the limit, 429 with `Retry-After`; otherwise
 * the route's response gets the `RateLimit` headers. `limits` receives `c.req.raw`.
 *
 * @example
 * app.use("/api/*", rateLimitHono({ limiter, limits: (req) => ({ policy: "api", key: keyByAddress(req.headers.get("x-real-ip") ?? "0.0.0.0") }) }));
 */
export function rateLimitHono(options: RateLimitMiddlewareOptions<Request>): HonoMiddleware {
  return async (c, next) => {
    const decision = await decideFor(options, c.req.raw);
    if (decision && !decision.allowed) {
      return Response.json(refusalBody(options, decision), { status: 429, headers: decision.headers });
    }
    await next();
    if (decision) c.res = withHeaders(c.res, decision);
    return undefined;
  };
}

/**
 * Idempotency-Key semantics for the routes after it (see `idempotencyFetch`): the first request
 * with a key runs and its response is stored; retries get it replayed.
 *
 * @example
 * app.post("/orders", idempotencyHono({ store }), async (c) => c.json(await createOrder(await c.req.json()), 201));
 */
export function idempotencyHono(options: IdempotencyFetchOptions): HonoMiddleware {
  const protocol = idempotencyProtocol(options);
  return async (c, next) => {
    const request = c.req.raw;
    if (!protocol.applies(request.method)) {
      await next();
      return undefined;
    }
    const decision = await protocol.decide(await idempotentRequest(protocol.header, options, request));
    if (decision.kind === "answer") {
      const { status, headers, body } = decision;
      return new Response(status === 204 || status === 304 ? null : body, { status, headers });
    }
    await next();
    // A route that threw leaves the key in flight until lockSeconds pass (like a crash).
    if (decision.kind === "run" && c.error === undefined) {
      const body = new Uint8Array(await c.res.clone().arrayBuffer());
      await decision.finish(c.res.status, c.res.headers.entries(), body);
    }
    return undefined;
  };
}
