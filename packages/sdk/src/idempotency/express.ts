import type { NextFunction, NodeRequest, NodeResponse } from "../verify/express.js";
import { credentialScope, type IdempotencyOptions, idempotencyProtocol } from "./protocol.js";

export interface IdempotencyExpressOptions extends IdempotencyOptions {
  /** Whose keys these are (a user or tenant id). Default: a digest of the `authorization` header. */
  scope?: (req: NodeRequest) => string | Promise<string>;
}

/**
 * Express middleware with Idempotency-Key semantics (see `idempotencyFetch`). Mount it after the
 * body parser (`express.json()`): the parsed body is part of the fingerprint. Whatever the route
 * answers (error handler's 500 included) is stored before it is sent.
 *
 * @example
 * app.post("/orders", express.json(), idempotencyExpress({ store }), async (req, res) => {
 *   res.status(201).json(await createOrder(req.body));
 * });
 */
export function idempotencyExpress(
  options: IdempotencyExpressOptions,
): (req: NodeRequest, res: NodeResponse, next: NextFunction) => Promise<void> {
  const protocol = idempotencyProtocol(options);
  return async (req, res, next) => {
    try {
      if (!protocol.applies(req.method ?? "GET")) return next();
      if (req.body === undefined && hasBody(req)) {
        throw new TypeError("idempotencyExpress: mount a body parser (express.json()) before it");
      }
      const key = req.headers[protocol.header];
      const decision = await protocol.decide({
        method: req.method ?? "GET",
        url: (req as { originalUrl?: string }).originalUrl ?? req.url ?? "/",
        key: Array.isArray(key) ? key[0] : key,
        scope: await (options.scope ? options.scope(req) : credentialScope(req.headers.authorization)),
        body: req.body,
      });
      if (decision.kind === "pass") return next();
      if (decision.kind === "answer") {
        res.writeHead(decision.status, decision.headers).end(decision.body);
        return;
      }
      holdUntilStored(res, (body) => decision.finish(res.statusCode, Object.entries(res.getHeaders()), body));
      next();
    } catch (err) {
      next(err);
    }
  };
}

function hasBody(req: NodeRequest): boolean {
  const length = req.headers["content-length"];
  return (length !== undefined && length !== "0") || req.headers["transfer-encoding"] !== undefined;
}

/**
 * Buffers what the route writes and sends it only after `store` ran, so a retry that arrives
 * after the answer always finds the stored response.
 */
function holdUntilStored(res: NodeResponse, store: (body: Buffer) => Promise<void>): void {
  const chunks: Buffer[] = [];
  const { write, end } = res;
  const bytes = (chunk: unknown, encoding: unknown) =>
    typeof chunk === "string"
      ? Buffer.from(chunk, typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8")
      : Buffer.from(chunk as Uint8Array);
  res.write = ((chunk: unknown, encoding?: unknown, cb?: unknown) => {
    chunks.push(bytes(chunk, encoding));
    const done = typeof encoding === "function" ? encoding : cb;
    if (typeof done === "function") process.nextTick(done as () => void);
    return true;
  }) as NodeResponse["write"];
  res.end = ((chunk?: unknown, encoding?: unknown, cb?: unknown) => {
    let [data, enc, done] = [chunk, encoding, cb];
    if (typeof data === "function") [data, done] = [undefined, data];
    else if (typeof enc === "function") [enc, done] = [undefined, enc];
    if (data !== undefined && data !== null) chunks.push(bytes(data, enc));
    res.write = write;
    res.end = end;
    const body = Buffer.concat(chunks);
    const send = end as (this: NodeResponse, data: Buffer, cb?: () => void) => NodeResponse;
    void store(body).finally(() => send.call(res, body, done as (() => void) | undefined));
    return res;
  }) as NodeResponse["end"];
}
