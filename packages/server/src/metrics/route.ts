import { timingSafeEqual } from "node:crypto";
import { type ErrorCode, hashToken } from "@keel/engine";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { KeelMetrics } from "./registry.js";

export interface MetricsRouteOptions {
  metrics: KeelMetrics;
  /** KEEL_METRICS_TOKEN: scrapers send it as `Authorization: Bearer <token>`. */
  token: string | undefined;
  /** Production without a token: /metrics answers 401 to everyone rather than being open. */
  production: boolean;
}

/**
 * Serves `GET /metrics` in Prometheus text format. With a token configured every scrape must
 * bear it; without one the endpoint is open in development and closed in production.
 *
 * @example
 * registerMetricsRoute(app, { metrics, token: process.env.KEEL_METRICS_TOKEN, production: false });
 * const res = await app.inject({ url: "/metrics", headers: { authorization: `Bearer ${token}` } });
 */
export function registerMetricsRoute(app: FastifyInstance, options: MetricsRouteOptions): void {
  const expected = options.token ? hashToken(options.token) : undefined;
  app.get("/metrics", async (req, reply) => {
    const refusal = refuse(req, expected, options.production);
    if (refusal) return unauthorized(reply, refusal);
    const body = await options.metrics.metrics();
    return reply.header("cache-control", "no-store").type(options.metrics.contentType).send(body);
  });
}

/** Why the request may not scrape, or undefined when it may. Never mentions the token itself. */
function refuse(req: FastifyRequest, expected: Buffer | undefined, production: boolean): string | undefined {
  if (!expected) {
    return production
      ? "/metrics is closed: KEEL_METRICS_TOKEN is not set and NODE_ENV=production. Set KEEL_METRICS_TOKEN and send it as 'Authorization: Bearer <token>'."
      : undefined;
  }
  const given = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? "")?.[1];
  if (given === undefined) return "/metrics needs 'Authorization: Bearer <token>' with KEEL_METRICS_TOKEN.";
  // Equal-length digests: the comparison time says nothing about the token or its length.
  if (!timingSafeEqual(hashToken(given), expected))
    return "The bearer token does not match KEEL_METRICS_TOKEN.";
  return undefined;
}

function unauthorized(reply: FastifyReply, message: string): FastifyReply {
  const code: ErrorCode = "unauthorized";
  return reply
    .code(401)
    .header("www-authenticate", 'Bearer realm="keel-metrics"')
    .header("cache-control", "no-store")
    .send({ error: { code, message } });
}
