import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Engine } from "@keel/engine";
import { CONTRACTS, docsPage, openApiDocument } from "@keel/protocol/contracts";
import type { RateLimiter } from "@keel/protocol/ratelimit";
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from "fastify";
import { type DoctorService, defaultDoctor } from "../doctor/service.js";
import type { KeelMetrics } from "../metrics/index.js";
import { createAuth } from "./auth.js";
import { renderDocsPage } from "./docs-page.js";
import { ApiError, describeError } from "./errors.js";
import { FailureLimiter, type FailureLimiterOptions } from "./failure-limiter.js";
import { runIdempotent } from "./idempotency.js";
import { buildOpenApi } from "./openapi.js";
import { type Call, type Contract, mounter, type Runner } from "./route.js";
import { accessRoutes } from "./routes/access.js";
import type { RouteDeps } from "./routes/deps.js";
import { doctorRoutes } from "./routes/doctor.js";
import { intakeRoutes } from "./routes/intake.js";
import { jobRoutes } from "./routes/jobs.js";
import { operationRoutes } from "./routes/operations.js";
import { rateLimitRoutes } from "./routes/ratelimit.js";
import { scheduleRoutes } from "./routes/schedules.js";
import { zodValidatorCompiler } from "./validation.js";

export interface ApiOptions {
  engine: Engine;
  /** KEEL_ADMIN_TOKEN, the bootstrap admin token; undefined: only tokens from `engine.tokens`. */
  adminToken: string | undefined;
  /** Production: 500s say only "see the log" with the request id. */
  production: boolean;
  /** Where the API logs (auth failures, 5xx). Default: the request's logger. */
  logger?: FastifyBaseLogger;
  /** Largest request body of most routes. Default 1 MiB. */
  bodyLimitBytes?: number;
  /** The engine's payload limit; `POST /v1/jobs` accepts it plus 64 KiB. Default 1 MiB. */
  payloadLimitBytes?: number;
  /** Largest body of `POST /v1/jobs/batch`. Default 16 MiB. */
  batchBodyLimitBytes?: number;
  /** Slow-down of failed authentications per address (default 10 a minute). */
  authFailures?: FailureLimiterOptions;
  /** The slow-down itself, shared with the QStash API and the console's sign-in; default: one made from `authFailures`. */
  limiter?: FailureLimiter;
  /** Where `${VAR}` in webhook source secrets is read (checks and fingerprints). Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** KEEL_TARGET_VARIABLES: the `${VAR}`s targets written through the API may use. Default none. */
  targetVariables?: readonly string[];
  /** Behind POST /v1/ratelimit/check (runtime/ratelimit.ts); undefined: no policy is declared. */
  rateLimiter?: RateLimiter;
  /** Counts Idempotency-Key outcomes in keel_idempotency_requests_total. */
  metrics?: Pick<KeelMetrics, "idempotencyRequests">;
  /**
   * Behind GET /v1/doctor (`keel start` passes its config). Default: the checks over `env`, the
   * config file in the working directory, and `engine`.
   */
  doctor?: DoctorService;
}

const MiB = 1024 * 1024;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Who a request's changes are recorded as: `api:token:<id>`. */
function actorOf(call: Call<Contract>): string {
  return call.principal?.actor ?? "api:anonymous";
}

/** A caller's `x-request-id` when it is a plain token, else a new UUID. */
function requestId(req: IncomingMessage): string {
  const given = req.headers["x-request-id"];
  return typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Registers the authenticated JSON API under /v1 (routes in contracts.ts), its OpenAPI
 * document at /v1/openapi.json and the rendered reference at /v1/docs. Everything is
 * encapsulated: the parsers, validators, error envelope and 404s apply to /v1 only.
 *
 * @example
 * const app = Fastify();
 * registerApi(app, { engine, adminToken: process.env.KEEL_ADMIN_TOKEN, production: false });
 * await app.inject({ method: "POST", url: "/v1/jobs", headers: { authorization: `Bearer ${token}` },
 *   payload: { target: { handler: "sendWelcome" }, payload: { userId: 42 } } });
 */
export function registerApi(app: FastifyInstance, options: ApiOptions): void {
  const { engine, production } = options;
  const log = (request: FastifyRequest): FastifyBaseLogger =>
    options.logger ? options.logger.child({ reqId: request.id }) : request.log;
  const bodyLimit = options.bodyLimitBytes ?? MiB;
  const bodyLimits = {
    default: bodyLimit,
    job: Math.max(bodyLimit, (options.payloadLimitBytes ?? MiB) + 64 * 1024),
    batch: options.batchBodyLimitBytes ?? 16 * MiB,
  };
  const limiter = options.limiter ?? new FailureLimiter(options.authFailures);
  const auth = createAuth({ engine, adminToken: options.adminToken, limiter, log });

  const runner: Runner = async (contract, call, run, route) => {
    const { request, reply } = call;
    const key = contract.idempotent ? request.headers["idempotency-key"] : undefined;
    if (typeof key === "string" && call.principal) {
      const { response, replayed } = await runIdempotent(
        engine.idempotency,
        {
          scope: call.principal.id,
          key,
          method: request.method,
          path: request.url.split("?")[0] as string,
          body: call.body,
        },
        {
          run: (client, held) => {
            if (client) call.client = client;
            else call.held = held;
            return run();
          },
          ...(route.keyedWrite ? {} : { transaction: (fn) => engine.transaction(fn) }),
          describe: (err) => describeError(err, request, production),
          onFinishFailed: (err) =>
            log(request).error({ err }, "could not store or release the Idempotency-Key record"),
          onOutcome: (outcome) => options.metrics?.idempotencyRequests.inc({ outcome }),
        },
      );
      reply.code(response.status).headers(response.headers);
      if (replayed) reply.header("idempotent-replayed", "true");
      return reply.send(response.body);
    }
    const out = await run();
    const type = contract.responses[out.status]?.contentType;
    if (type) reply.type(type);
    return reply.code(out.status).send(out.body);
  };

  app.register(
    async (v1) => {
      v1.setGenReqId(requestId);
      v1.setValidatorCompiler(zodValidatorCompiler);
      // JSON only; an empty body is "no body" (bodyless POSTs from clients that always send the type).
      const json = v1.getDefaultJsonParser("error", "error");
      v1.removeAllContentTypeParsers();
      v1.addContentTypeParser("application/json", { parseAs: "string" }, (req, body, done) =>
        body === "" ? done(null, undefined) : json(req, body as string, done),
      );
      v1.setErrorHandler((err, request, reply) => {
        const out = describeError(err, request, production);
        if (out.status >= 500) log(request).error({ err }, "api request failed");
        else log(request).debug({ code: out.body.error.code }, "api request refused");
        return reply.code(out.status).headers(out.headers).send(out.body);
      });
      v1.setNotFoundHandler(async (request) => {
        throw new ApiError("not_found", { method: request.method, path: request.url.split("?")[0] });
      });
      v1.addHook("onRequest", async (request, reply) => {
        reply.header("x-request-id", request.id).header("cache-control", "no-store");
      });
      v1.addHook("onRequest", auth.authenticate);

      const mount = mounter(v1, bodyLimits, auth.principalOf, runner);
      const document = buildOpenApi(CONTRACTS);
      const page = renderDocsPage(document);
      mount(openApiDocument)(async () => ({ status: 200, body: document }));
      mount(docsPage)(async ({ reply }) => {
        reply.header("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'");
        return { status: 200, body: page };
      });
      const as: RouteDeps["as"] = (call) => ({
        by: actorOf(call),
        source: call.request.ip,
        ...(call.client ? { client: call.client } : {}),
      });
      const deps: RouteDeps = { engine, mount, as, targetVariables: options.targetVariables ?? [] };
      jobRoutes(deps);
      operationRoutes(deps);
      scheduleRoutes(deps);
      accessRoutes(deps);
      intakeRoutes(deps, options.env ?? process.env);
      rateLimitRoutes(deps, options.rateLimiter);
      doctorRoutes(deps, options.doctor ?? defaultDoctor(engine, options.env ?? process.env));
    },
    { prefix: "/v1" },
  );
}

export { CONTRACTS } from "@keel/protocol/contracts";
export { buildOpenApi } from "./openapi.js";
