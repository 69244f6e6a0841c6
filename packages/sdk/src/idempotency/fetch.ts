import {
  credentialScope,
  fingerprintBody,
  type IdempotencyOptions,
  type IdempotentRequest,
  idempotencyProtocol,
} from "./protocol.js";

export interface IdempotencyFetchOptions extends IdempotencyOptions {
  /** Whose keys these are (a user or tenant id). Default: a digest of the `authorization` header. */
  scope?: (request: Request) => string | Promise<string>;
}

/**
 * Wraps a Fetch handler (Next.js route handler, Hono, Remix) with Idempotency-Key semantics: the
 * first request with a key runs; its response (any status) is stored and replayed to retries with
 * `Idempotent-Replayed: true`; a retry while it runs gets 409, the key with another body 422, no
 * key 400. Responses are buffered to be stored.
 *
 * @example
 * const idempotent = idempotencyFetch({ store: postgresIdempotencyStore({ connectionString: process.env.DATABASE_URL }) });
 * export const POST = idempotent(async (request) => Response.json(await createOrder(await request.json()), { status: 201 }));
 */
export function idempotencyFetch(
  options: IdempotencyFetchOptions,
): <A extends unknown[]>(
  handler: (request: Request, ...rest: A) => Response | Promise<Response>,
) => (request: Request, ...rest: A) => Promise<Response> {
  const protocol = idempotencyProtocol(options);
  return (handler) =>
    async (request, ...rest) => {
      if (!protocol.applies(request.method)) return handler(request, ...rest);
      const decision = await protocol.decide(await idempotentRequest(protocol.header, options, request));
      if (decision.kind === "pass") return handler(request, ...rest);
      if (decision.kind === "answer") {
        const { status, headers, body } = decision;
        return new Response(status === 204 || status === 304 ? null : body, { status, headers });
      }
      // A handler that throws leaves the key in flight until lockSeconds pass (like a crash).
      const response = await handler(request, ...rest);
      const body = new Uint8Array(await response.clone().arrayBuffer());
      await decision.finish(response.status, response.headers.entries(), body);
      return response;
    };
}

/** A Fetch request as the protocol sees it (the body read from a clone; the request stays unread). */
export async function idempotentRequest(
  header: string,
  options: Pick<IdempotencyFetchOptions, "scope">,
  request: Request,
): Promise<IdempotentRequest> {
  const url = new URL(request.url);
  const authorization = request.headers.get("authorization") ?? undefined;
  return {
    method: request.method,
    url: url.pathname + url.search,
    key: request.headers.get(header) ?? undefined,
    scope: await (options.scope ? options.scope(request) : credentialScope(authorization)),
    body: fingerprintBody(
      new Uint8Array(await request.clone().arrayBuffer()),
      request.headers.get("content-type"),
    ),
  };
}
