import { type FastifyHookReply, type FastifyHookRequest, sharedPlugin } from "../verify/fastify.js";
import { credentialScope, type Decision, type IdempotencyOptions, idempotencyProtocol } from "./protocol.js";

export interface IdempotencyFastifyOptions extends IdempotencyOptions {
  /** Whose keys these are (a user or tenant id). Default: a digest of the `authorization` header. */
  scope?: (request: FastifyHookRequest) => string | Promise<string>;
}

export interface FastifyReplyState extends FastifyHookReply {
  statusCode: number;
  getHeaders(): Record<string, string | number | string[] | undefined>;
}

/** The parts of a Fastify instance the idempotency plugin uses. */
export interface FastifyIdempotencyScope {
  addHook(
    name: "preHandler",
    hook: (request: FastifyHookRequest, reply: FastifyReplyState) => Promise<unknown>,
  ): unknown;
  addHook(
    name: "onSend",
    hook: (request: FastifyHookRequest, reply: FastifyReplyState, payload: unknown) => Promise<unknown>,
  ): unknown;
}

/**
 * A Fastify plugin with Idempotency-Key semantics (see `idempotencyFetch`) for the routes of the
 * context it is registered in. The parsed body is part of the fingerprint; whatever the route
 * answers (errors included) is stored in `onSend`, before it is sent. Streamed replies are not
 * stored (`onError` is told).
 *
 * @example
 * app.register(async (api) => {
 *   await api.register(idempotencyFastify, { store });
 *   api.post("/orders", async (request, reply) => reply.code(201).send(await createOrder(request.body)));
 * });
 */
export const idempotencyFastify = sharedPlugin(async function keelIdempotency(
  scope: FastifyIdempotencyScope,
  options: IdempotencyFastifyOptions,
): Promise<void> {
  const protocol = idempotencyProtocol(options);
  const running = new WeakMap<object, Extract<Decision, { kind: "run" }>>();
  scope.addHook("preHandler", async (request, reply) => {
    if (!protocol.applies(request.method)) return;
    const key = request.headers[protocol.header];
    const decision = await protocol.decide({
      method: request.method,
      url: request.url,
      key: Array.isArray(key) ? key[0] : key,
      scope: await (options.scope ? options.scope(request) : credentialScope(request.headers.authorization)),
      body: request.body,
    });
    if (decision.kind === "pass") return;
    if (decision.kind === "run") {
      running.set(request, decision);
      return;
    }
    reply.code(decision.status);
    for (const [name, value] of Object.entries(decision.headers)) reply.header(name, value);
    const { body } = decision;
    return reply.send(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  });
  scope.addHook("onSend", async (request, reply, payload) => {
    const decision = running.get(request);
    if (!decision) return payload;
    running.delete(request);
    const body =
      payload === undefined || payload === null
        ? Buffer.alloc(0)
        : typeof payload === "string"
          ? Buffer.from(payload)
          : payload instanceof Uint8Array
            ? payload
            : undefined;
    if (body === undefined) {
      options.onError?.(new Error(`idempotencyFastify: a streamed reply to ${request.url} cannot be stored`));
      return payload;
    }
    await decision.finish(reply.statusCode, Object.entries(reply.getHeaders()), body);
    return payload;
  });
}, "keel-idempotency");
