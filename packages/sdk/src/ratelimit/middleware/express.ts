import type { IncomingHttpHeaders } from "node:http";
import { decideFor, type RateLimitMiddlewareOptions, refusalBody } from "./shared.js";

/** The parts of an Express request the default typing offers to `limits`. */
export interface ExpressLikeRequest {
  /** The client address (honours Express's `trust proxy` setting). */
  ip?: string | undefined;
  headers: IncomingHttpHeaders;
}

/** The parts of an Express response the middleware uses. */
export interface ExpressLikeResponse {
  setHeader(name: string, value: string): unknown;
  status(code: number): { json(body: unknown): unknown };
}

/**
 * Express middleware: a refused request gets 429 (JSON) with Retry-After and the RateLimit
 * headers; an admitted one goes on with the RateLimit headers set. Store failures never reach
 * `next(err)` (the fail modes answer); a malformed check (unknown policy) does.
 *
 * @example
 * app.use("/api", rateLimitExpress({ limiter, limits: (req) => ({ policy: "api", key: keyByAddress(req.ip ?? "") }) }));
 */
export function rateLimitExpress<Req = ExpressLikeRequest>(
  options: RateLimitMiddlewareOptions<Req>,
): (req: NoInfer<Req>, res: ExpressLikeResponse, next: (err?: unknown) => void) => void {
  return (req, res, next) => {
    decideFor(options, req).then((decision) => {
      if (!decision) return next();
      for (const [name, value] of Object.entries(decision.headers)) res.setHeader(name, value);
      if (decision.allowed) return next();
      res.status(429).json(refusalBody(options, decision));
    }, next);
  };
}
