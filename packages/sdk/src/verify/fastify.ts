import type { IncomingHttpHeaders } from "node:http";
import { attachDelivery } from "./attached.js";
import { DeliveryVerificationError } from "./errors.js";
import { createDeliveryVerifier, type VerifyOptions } from "./verify.js";

/** The parts of a Fastify request and reply the adapters use (no dependency on fastify's types). */
export interface FastifyHookRequest {
  headers: IncomingHttpHeaders;
  body: unknown;
  method: string;
  url: string;
}

export interface FastifyHookReply {
  code(status: number): FastifyHookReply;
  header(name: string, value: string): FastifyHookReply;
  send(payload?: unknown): FastifyHookReply;
}

/** The parts of a Fastify instance the delivery plugin uses. */
export interface FastifyDeliveryScope {
  removeAllContentTypeParsers(): unknown;
  addContentTypeParser(
    contentType: string,
    options: { parseAs: "buffer"; bodyLimit?: number },
    parser: (request: never, body: Buffer, done: (err: Error | null, body?: unknown) => void) => void,
  ): unknown;
  addHook(
    name: "preValidation",
    hook: (request: FastifyHookRequest, reply: FastifyHookReply) => Promise<unknown>,
  ): unknown;
}

/** Makes a plugin apply to the context it is registered in, as `fastify-plugin` does. */
export function sharedPlugin<T extends (...args: never[]) => unknown>(plugin: T, name: string): T {
  return Object.assign(plugin, {
    [Symbol.for("skip-override")]: true,
    [Symbol.for("fastify.display-name")]: name,
  });
}

/**
 * A Fastify plugin that lets only verified Keel deliveries reach the routes of the context it is
 * registered in. It keeps every body raw in that context (the signature covers the exact bytes),
 * so register it in a scope of its own with the delivery routes. On success `request.body` is the
 * parsed payload and `deliveryOf(request)` the delivery; otherwise the answer is 401.
 *
 * @example
 * app.register(async (hooks) => {
 *   await hooks.register(verifyDeliveryFastify, { secrets: [process.env.KEEL_SIGNING_SECRET!] });
 *   hooks.post("/hooks/keel", async (request) => {
 *     const delivery = deliveryOf<{ userId: number }>(request);
 *     return { ok: true };
 *   });
 * });
 */
export const verifyDeliveryFastify = sharedPlugin(async function keelVerifyDelivery(
  scope: FastifyDeliveryScope,
  options: VerifyOptions & { bodyLimit?: number },
): Promise<void> {
  const verify = createDeliveryVerifier(options);
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser(
    "*",
    { parseAs: "buffer", ...(options.bodyLimit ? { bodyLimit: options.bodyLimit } : {}) },
    (_request, body, done) => done(null, body),
  );
  // Before validation, so a route's body schema sees the parsed payload.
  scope.addHook("preValidation", async (request, reply) => {
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    try {
      const delivery = await verify({ headers: request.headers, body });
      request.body = delivery.payload;
      attachDelivery(request, delivery);
    } catch (err) {
      if (!(err instanceof DeliveryVerificationError)) throw err;
      return reply.code(401).header("content-type", "application/json").send(JSON.stringify(err.toJSON()));
    }
  });
}, "keel-verify-delivery");
