import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { type Engine, KeelError, MAX_EVENT_ID_LENGTH, type Source } from "@keel/engine";
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { describeError } from "../api/errors.js";
import type { KeelMetrics } from "../metrics/index.js";
import { flatHeaders, redactHeaders, storedHeaders } from "./headers.js";
import { VERIFIERS } from "./providers/index.js";
import { RejectionLog, type RejectionLogOptions } from "./rejections.js";
import { resolveSecrets, SecretProblem } from "./secrets.js";
import { SourceCache, type SourceCacheOptions } from "./source-cache.js";
import type { RejectionReason } from "./verify.js";

export interface IntakeOptions {
  engine: Engine;
  /** Counts every request in keel_intake_events_total{source,result}. */
  metrics?: KeelMetrics;
  logger?: FastifyBaseLogger;
  /** Where `${VAR}` in secrets is read, when a request is verified. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Production: 500s say only "see the log". */
  production?: boolean;
  /** Milliseconds since the epoch, for signed timestamps. Default `Date.now`. */
  now?: () => number;
  cache?: SourceCacheOptions;
  rejections?: RejectionLogOptions;
}

/** A refused request: the reason is its registry code and its metric result. */
class IntakeRefusal extends Error {
  readonly error: KeelError;
  constructor(
    readonly reason: RejectionReason,
    params: Record<string, unknown>,
    readonly bodySize: number | null = null,
  ) {
    const error = new KeelError(reason, params);
    super(error.message);
    this.error = error;
  }
}

// Unknown source names come from anyone: one label value for all of them.
const UNKNOWN_SOURCE_LABEL = "_unknown";

/**
 * `POST /in/:source`, the public webhook endpoint: the source's verifier checks the raw bytes
 * (no parsing before), then the event and the jobs of its routes are committed (grouped with
 * concurrent requests) and only then answered 200. Refusals answer 400/401/404/413/503 with a
 * reason code, are counted, and the recent ones kept per source (redacted, never the body).
 *
 * @example
 * registerIntake(app, { engine, metrics, env: process.env });
 * // curl -X POST https://keel.example.com/in/stripe -H 'stripe-signature: t=…,v1=…' --data-binary @event.json
 */
export function registerIntake(app: FastifyInstance, options: IntakeOptions): void {
  const { engine, metrics } = options;
  const env = options.env ?? process.env;
  const now = options.now ?? Date.now;
  const cache = new SourceCache(engine, options.cache);
  const rejections = new RejectionLog(engine, options.rejections);
  const sources = new WeakMap<FastifyRequest, Source>();
  const log = (request: FastifyRequest): FastifyBaseLogger =>
    options.logger ? options.logger.child({ reqId: request.id }) : request.log;
  const count = (source: string, result: string) => metrics?.intakeEvents.inc({ source, result });

  const refuse = async (request: FastifyRequest, reply: FastifyReply, refusal: IntakeRefusal) => {
    const source = sources.get(request);
    count(source?.name ?? UNKNOWN_SOURCE_LABEL, refusal.reason);
    if (source) {
      const body = request.body;
      const kept = await rejections.record(
        {
          source: source.name,
          reason: refusal.reason,
          detail: refusal.message,
          headers: redactHeaders(storedHeaders(request.headers, source)),
          bodySize: refusal.bodySize ?? (Buffer.isBuffer(body) ? body.length : 0),
          requestId: request.id,
        },
        (err) => log(request).error({ err }, "intake: could not keep a rejection"),
      );
      // Logged as kept: a flood of forged requests does not flood the log either.
      if (kept) {
        log(request).warn(
          { source: source.name, reason: refusal.reason, detail: refusal.message },
          "intake: request refused",
        );
      }
    }
    return reply.code(refusal.error.status).send({ error: refusal.error.toJSON() });
  };

  app.register(
    async (intake) => {
      intake.removeAllContentTypeParsers();
      // Every content type, as raw bytes: signatures are over the exact bytes sent.
      intake.addContentTypeParser("*", (request, payload, done) => {
        const source = sources.get(request) as Source;
        readBody(payload, request.headers["content-length"], source).then(
          (body) => done(null, body),
          (err: Error) => done(err),
        );
      });
      intake.setErrorHandler(async (err, request, reply) => {
        if (err instanceof IntakeRefusal) return refuse(request, reply, err);
        const out = describeError(err, request, options.production ?? false);
        const source = sources.get(request)?.name ?? UNKNOWN_SOURCE_LABEL;
        count(source, out.body.error.code === "enqueue_disabled" ? "enqueue_disabled" : "error");
        if (out.status >= 500) log(request).error({ err, source }, "intake: request failed");
        return reply.code(out.status).headers(out.headers).send(out.body);
      });

      // Providers only POST; anything else is told so, without looking the source up.
      intake.route({
        method: ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"],
        url: "/:source",
        handler: async (request, reply) => {
          const error = new KeelError("method_not_allowed", {
            method: request.method,
            path: "/in/<source>",
            allowed: "POST",
          });
          return reply.code(405).header("allow", "POST").send({ error: error.toJSON() });
        },
      });

      intake.post<{ Params: { source: string } }>(
        "/:source",
        {
          onRequest: async (request, reply) => {
            const source = await cache.get(request.params.source);
            if (!source) {
              // Not kept, not logged above debug: anyone can make up names.
              const name = request.params.source.slice(0, 100);
              log(request).debug({ source: name }, "intake: unknown source");
              return refuse(request, reply, new IntakeRefusal("unknown_source", { source: name }));
            }
            sources.set(request, source);
          },
        },
        async (request, reply) => {
          const source = sources.get(request) as Source;
          const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
          let secrets: string[];
          try {
            secrets = resolveSecrets(source, env);
          } catch (err) {
            if (!(err instanceof SecretProblem)) throw err;
            log(request).error({ source: source.name, detail: err.message }, "intake: source misconfigured");
            throw new IntakeRefusal("source_misconfigured", { source: source.name, detail: err.message });
          }
          const verdict = await VERIFIERS[source.provider](
            { headers: flatHeaders(request.headers), body, now: Math.floor(now() / 1000) },
            source,
            secrets,
          );
          if (!verdict.ok)
            throw new IntakeRefusal(verdict.reason, { source: source.name, ...verdict.params });
          // The id is the dedupe key: one too long for its index is refused, never truncated.
          if (verdict.eventId !== null && verdict.eventId.length > MAX_EVENT_ID_LENGTH) {
            throw new IntakeRefusal("event_id_too_long", {
              source: source.name,
              length: verdict.eventId.length,
              limit: MAX_EVENT_ID_LENGTH,
            });
          }
          const result = await engine.intake.events.accept({
            source,
            // Without an id from the provider, identical bodies are the same event (decision 013).
            eventId: verdict.eventId ?? `sha256:${createHash("sha256").update(body).digest("hex")}`,
            type: verdict.type,
            contentType: request.headers["content-type"] ?? null,
            headers: storedHeaders(request.headers, source),
            body,
            verification: {
              provider: source.provider,
              secret: verdict.secret,
              ...(verdict.timestamp === undefined
                ? {}
                : { timestamp: new Date(verdict.timestamp * 1000).toISOString() }),
            },
          });
          count(source.name, result.duplicate ? "duplicate" : "accepted");
          return reply.code(200).send({ id: result.id, duplicate: result.duplicate });
        },
      );
    },
    { prefix: "/in" },
  );
}

/**
 * Reads the body up to the source's limit. A declared length over it is refused before a byte
 * is read; a body that grows past it is refused as soon as it does (the rest is discarded).
 */
function readBody(payload: IncomingMessage, declared: string | undefined, source: Source): Promise<Buffer> {
  const limit = source.bodyLimitBytes;
  const tooLarge = (size: number | string, read: number) =>
    new IntakeRefusal("body_too_large", { source: source.name, size, limit }, read);
  const length = declared === undefined ? Number.NaN : Number(declared);
  if (length > limit) {
    payload.resume();
    return Promise.reject(tooLarge(length, length));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      payload.off("data", onData);
      payload.off("end", onEnd);
      payload.off("error", onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        payload.resume();
        reject(tooLarge(`more than ${limit}`, size));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    payload.on("data", onData);
    payload.on("end", onEnd);
    payload.on("error", onError);
  });
}
