import type { Engine, MutationOptions } from "@keel/engine";
import { KeelError } from "@keel/engine";
import type { Scope } from "@keel/protocol/names";
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from "fastify";
import { createAuth } from "../api/auth.js";
import { ApiError, describeError } from "../api/errors.js";
import type { FailureLimiter } from "../api/failure-limiter.js";
import { readUpstashHeaders } from "./headers.js";
import {
  type IncomingMessage,
  jobIdOfMessage,
  presentMessage,
  publishResponse,
  toEnqueueInput,
} from "./messages.js";
import { isQStashSchedule, presentSchedule, toSchedule } from "./schedules.js";
import type { QStashSigningKeys } from "./signature.js";

export interface QStashApiOptions {
  engine: Engine;
  /** KEEL_ADMIN_TOKEN; tokens from `engine.tokens` work too (the client sends `Bearer <token>`). */
  adminToken: string | undefined;
  /** The /v1 API's slow-down of failed authentications: one budget per address for both. */
  limiter: FailureLimiter;
  /** KEEL_QSTASH_*_SIGNING_KEY; unset: every /v2 request answers `qstash_not_configured`. */
  keys: QStashSigningKeys | undefined;
  production: boolean;
  logger?: FastifyBaseLogger | undefined;
  /** KEEL_TARGET_VARIABLES: the `${VAR}`s forwarded headers may use (decision 026). */
  targetVariables?: readonly string[] | undefined;
  /** Largest message body. Default 1 MiB (QStash's own limit). */
  bodyLimitBytes?: number;
  /** Largest `/v2/batch` body. Default 16 MiB. */
  batchBodyLimitBytes?: number;
}

const MiB = 1024 * 1024;

/** A `/v2/batch` item, as `client.batch()` writes it. */
interface BatchItem {
  destination?: unknown;
  headers?: unknown;
  body?: unknown;
  queue?: unknown;
}

/**
 * The QStash-compatible publish API under /v2 (docs/qstash.md, decision 044): what the official
 * `@upstash/qstash` Client speaks, mapped onto Keel's queues, jobs and schedules. Scopes follow
 * the /v1 routes that do the same thing: publishing needs `publish`, reading `read`, cancelling
 * and schedules `admin`. Errors answer in Keel's envelope, which the client shows as its message.
 *
 * @example
 * registerQStash(app, { engine, adminToken, limiter: new FailureLimiter(), keys, production: false });
 * // new Client({ baseUrl: "http://localhost:7070", token }).publishJSON({ url, body: { a: 1 } })
 */
export function registerQStash(app: FastifyInstance, options: QStashApiOptions): void {
  const { engine, production } = options;
  const log = (request: FastifyRequest): FastifyBaseLogger =>
    options.logger ? options.logger.child({ reqId: request.id }) : request.log;
  const variables = options.targetVariables ?? [];
  const scopeOf = (request: FastifyRequest) => (request.routeOptions.config as { scope?: Scope }).scope;
  const auth = createAuth({
    engine,
    adminToken: options.adminToken,
    limiter: options.limiter,
    log,
    scopeOf,
  });
  const as = (request: FastifyRequest): MutationOptions => ({
    by: auth.principalOf(request)?.actor ?? "api:anonymous",
    source: request.ip,
  });
  const bodyLimit = options.bodyLimitBytes ?? MiB;
  const batchLimit = options.batchBodyLimitBytes ?? 16 * MiB;

  app.register(
    async (v2) => {
      // Any body, kept as bytes: QStash forwards the body verbatim, whatever its type.
      v2.removeAllContentTypeParsers();
      v2.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
      v2.setErrorHandler((err, request, reply) => {
        const out = describeError(err, request, production);
        if (out.status >= 500) log(request).error({ err }, "qstash request failed");
        return reply.code(out.status).headers(out.headers).send(out.body);
      });
      v2.setNotFoundHandler(async (request) => {
        const path = (request.url.split("?")[0] as string).split("/").slice(0, 3).join("/");
        throw new ApiError("qstash_unsupported", {
          feature: `${request.method} ${path}`,
          hint: "Keel serves /v2/publish, /v2/enqueue, /v2/batch, /v2/messages/<id> and /v2/schedules",
        });
      });
      v2.addHook("onRequest", async (_request, reply) => {
        reply.header("cache-control", "no-store");
      });
      v2.addHook("onRequest", auth.authenticate);
      // After auth: strangers learn nothing about the configuration.
      v2.addHook("onRequest", async () => {
        if (!options.keys) throw new ApiError("qstash_not_configured");
      });

      const incoming = (request: FastifyRequest, prefix: RegExp, queue?: string): IncomingMessage => ({
        destination: (request.url as string).replace(prefix, ""),
        body: request.body as Buffer | undefined,
        contentType: request.headers["content-type"],
        options: readUpstashHeaders(request.headers, "publish"),
        queue,
      });
      const publish = async (request: FastifyRequest, message: IncomingMessage) => {
        const input = toEnqueueInput(message, variables);
        const result = await engine.enqueue(input, as(request));
        const url = (input.target as { url: string }).url;
        return publishResponse(result.id, url, result.deduplicated);
      };

      v2.post("/publish/*", { bodyLimit, config: { scope: "publish" } }, async (request, reply) => {
        const out = await publish(request, incoming(request, /^\/v2\/publish\//));
        return reply.code(out.deduplicated ? 200 : 201).send(out);
      });

      v2.post<{ Params: { queue: string } }>(
        "/enqueue/:queue/*",
        { bodyLimit, config: { scope: "publish" } },
        async (request, reply) => {
          const { queue } = request.params;
          const prefix = /^\/v2\/enqueue\/[^/]+\//;
          const out = await publish(request, incoming(request, prefix, queue));
          return reply.code(out.deduplicated ? 200 : 201).send(out);
        },
      );

      v2.post("/batch", { bodyLimit: batchLimit, config: { scope: "publish" } }, async (request, reply) => {
        const items = parseBatch(request.body as Buffer | undefined);
        const inputs = items.map((item, i) => {
          const headers = lowercase(item.headers, i);
          return toEnqueueInput(
            {
              destination: stringField(item.destination, `[${i}].destination`) ?? "",
              body: stringField(item.body, `[${i}].body`),
              contentType: headers["content-type"],
              options: readUpstashHeaders(headers, "publish"),
              queue: stringField(item.queue, `[${i}].queue`),
            },
            variables,
          );
        });
        const results = await engine.enqueueMany(inputs, as(request));
        const urls = inputs.map((input) => (input.target as { url: string }).url);
        return reply
          .code(201)
          .send(results.map((r, i) => publishResponse(r.id, urls[i] as string, r.deduplicated)));
      });

      v2.get<{ Params: { id: string } }>("/messages/:id", { config: { scope: "read" } }, async (request) =>
        presentMessage(await engine.getJob(jobIdOfMessage(request.params.id))),
      );

      v2.delete<{ Params: { id: string } }>(
        "/messages/:id",
        { config: { scope: "admin" } },
        async (request) => {
          await engine.cancel(jobIdOfMessage(request.params.id), as(request));
          return { cancelled: 1 };
        },
      );

      v2.post("/schedules/*", { bodyLimit, config: { scope: "admin" } }, async (request, reply) => {
        const { name, definition } = toSchedule(
          {
            destination: request.url.replace(/^\/v2\/schedules\//, ""),
            body: request.body as Buffer | undefined,
            contentType: request.headers["content-type"],
            options: readUpstashHeaders(request.headers, "schedule"),
          },
          variables,
        );
        const { created } = await engine.schedules.upsert(name, definition, as(request));
        return reply.code(created ? 201 : 200).send({ scheduleId: name });
      });

      v2.get("/schedules", { config: { scope: "read" } }, async () =>
        (await engine.schedules.list()).filter(isQStashSchedule).map(presentSchedule),
      );

      v2.get<{ Params: { id: string } }>("/schedules/:id", { config: { scope: "read" } }, async (request) =>
        presentSchedule(await qstashSchedule(engine, request.params.id)),
      );

      v2.delete<{ Params: { id: string } }>(
        "/schedules/:id",
        { config: { scope: "admin" } },
        async (request) => {
          await qstashSchedule(engine, request.params.id);
          await engine.schedules.delete(request.params.id, as(request));
          return {};
        },
      );

      for (const action of ["pause", "resume"] as const) {
        v2.patch<{ Params: { id: string } }>(
          `/schedules/:id/${action}`,
          { config: { scope: "admin" } },
          async (request) => {
            await qstashSchedule(engine, request.params.id);
            if (action === "pause") await engine.schedules.pause(request.params.id, as(request));
            else await engine.schedules.resume(request.params.id, as(request));
            return {};
          },
        );
      }
    },
    { prefix: "/v2" },
  );
}

/** A schedule the QStash API may show and change; others (config, /v1 handler targets) are not its. */
async function qstashSchedule(engine: Engine, name: string) {
  const schedule = await engine.schedules.get(name);
  if (!isQStashSchedule(schedule)) throw new KeelError("schedule_not_found", { name });
  return schedule;
}

function parseBatch(body: Buffer | undefined): BatchItem[] {
  let items: unknown;
  try {
    items = JSON.parse(body?.toString("utf8") ?? "");
  } catch {
    throw new KeelError("invalid_argument", {
      detail: "The /v2/batch body is not JSON: send an array of messages.",
    });
  }
  if (!Array.isArray(items) || items.some((i) => i === null || typeof i !== "object")) {
    throw new KeelError("invalid_argument", {
      detail: "The /v2/batch body must be an array of {destination, headers?, body?, queue?}.",
    });
  }
  return items as BatchItem[];
}

function stringField(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string")
    throw new KeelError("invalid_argument", { detail: `${field} must be a string.` });
  return value;
}

function lowercase(headers: unknown, i: number): Record<string, string> {
  if (headers === undefined || headers === null) return {};
  if (typeof headers !== "object" || Array.isArray(headers)) {
    throw new KeelError("invalid_argument", { detail: `[${i}].headers must be an object of strings.` });
  }
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = String(value);
  return out;
}
