import type { IncomingMessage, ServerResponse } from "node:http";
import { attachDelivery } from "./attached.js";
import { DeliveryVerificationError } from "./errors.js";
import { createDeliveryVerifier, type VerifyOptions } from "./verify.js";

/** What the Express adapters need of a request: Node's, plus the body a parser may have set. */
export type NodeRequest = IncomingMessage & { body?: unknown };
export type NodeResponse = ServerResponse & { locals?: Record<string, unknown> };
export type NextFunction = (err?: unknown) => void;

export interface VerifyDeliveryExpressOptions extends VerifyOptions {
  /** Largest body read when no parser ran before. Default 2 MiB (Keel's payload limit is 1 MiB). */
  limitBytes?: number;
}

/**
 * Express middleware that lets only verified Keel deliveries through. It needs the raw body:
 * mount it before `express.json()`, or after `express.raw({ type: "*\/*" })` on the route. On
 * success `req.body` is the parsed payload and `deliveryOf(req)` (also `res.locals.keelDelivery`)
 * the delivery; otherwise it answers 401 with the reason.
 *
 * @example
 * app.post("/hooks/keel", verifyDeliveryExpress({ secrets: [process.env.KEEL_SIGNING_SECRET!] }), (req, res) => {
 *   const delivery = deliveryOf<{ userId: number }>(req);
 *   res.sendStatus(204);
 * });
 */
export function verifyDeliveryExpress(
  options: VerifyDeliveryExpressOptions,
): (req: NodeRequest, res: NodeResponse, next: NextFunction) => Promise<void> {
  const verify = createDeliveryVerifier(options);
  const limit = options.limitBytes ?? 2 * 1024 * 1024;
  return async (req, res, next) => {
    try {
      const body = await rawBody(req, limit);
      const delivery = await verify({ headers: req.headers, body });
      req.body = delivery.payload;
      attachDelivery(req, delivery);
      if (res.locals) res.locals.keelDelivery = delivery;
      next();
    } catch (err) {
      if (!(err instanceof DeliveryVerificationError)) return next(err);
      res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify(err.toJSON()));
    }
  };
}

/** The raw body: from `express.raw`/`express.text`, else read from the stream here. */
async function rawBody(req: NodeRequest, limit: number): Promise<Buffer> {
  if (Buffer.isBuffer(req.body)) return req.body;
  if (typeof req.body === "string") return Buffer.from(req.body, "utf8");
  if (req.body !== undefined) {
    throw new TypeError(
      "Keel delivery verification needs the raw body, but a parser already replaced it: mount the verification before express.json(), or use express.raw({ type: '*/*' }) on this route",
    );
  }
  if (req.readableEnded) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new TypeError(`the request body is over ${limit} bytes (limitBytes)`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
