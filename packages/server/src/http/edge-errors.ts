import { maxHeaderSize, STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import { ERROR_CODES, type ErrorCode } from "@keel/engine";
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyServerOptions } from "fastify";
import { describeError } from "../api/errors.js";
import { MAX_PARAM_LENGTH, REQUEST_TIMEOUT_MS } from "./limits.js";

export { MAX_PARAM_LENGTH, REQUEST_TIMEOUT_MS };

/**
 * Server options that keep errors raised before any route runs inside Keel's envelope: a path
 * the router cannot decode or whose segment is too long (Fastify's `frameworkErrors`), and what
 * Node's HTTP parser refuses before Fastify sees a request — headers over `maxHeaderSize`
 * (431), a request not received within `requestTimeout` (408), malformed HTTP (400) — which
 * are written to the socket as `{"error":{code,message}}` (`clientErrorHandler`).
 *
 * @example
 * const app = Fastify({ ...edgeServerOptions({ production: true }) });
 */
export function edgeServerOptions(options: {
  production: boolean;
  logger?: FastifyBaseLogger;
}): Pick<
  FastifyServerOptions,
  "routerOptions" | "requestTimeout" | "frameworkErrors" | "clientErrorHandler"
> {
  return {
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    requestTimeout: REQUEST_TIMEOUT_MS,
    frameworkErrors: (err, request, reply) => {
      const out = describeError(err, request, options.production);
      (reply as FastifyReply).code(out.status).headers(out.headers).send(out.body);
    },
    clientErrorHandler: (err: NodeJS.ErrnoException, socket: Socket) => {
      // A reset or closed connection has no one left to answer.
      if (err.code === "ECONNRESET" || socket.destroyed) return;
      const [status, code, params] = clientError(err);
      options.logger?.debug({ code: err.code, status }, "http: client error");
      if (socket.writable) {
        const message = ERROR_CODES[code].message.replace(/\{(\w+)\}/g, (_, k: string) => String(params[k]));
        const body = JSON.stringify({ error: { code, message } });
        socket.write(
          `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
            "content-type: application/json; charset=utf-8\r\n" +
            `content-length: ${Buffer.byteLength(body)}\r\n` +
            "connection: close\r\n\r\n" +
            body,
        );
      }
      socket.destroy(err);
    },
  };
}

function clientError(err: NodeJS.ErrnoException): [number, ErrorCode, Record<string, unknown>] {
  switch (err.code) {
    case "HPE_HEADER_OVERFLOW":
      return [431, "headers_too_large", { limit: maxHeaderSize }];
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return [408, "request_timeout", { seconds: REQUEST_TIMEOUT_MS / 1000 }];
    default:
      // The parser's own reason (HPE_INVALID_METHOD, …): it names what is malformed.
      return [
        400,
        "invalid_argument",
        { detail: `The request is not valid HTTP/1.1 (${err.code ?? "parse error"}).` },
      ];
  }
}

/**
 * Routes outside /v1 and /in answer in the envelope too: an unknown path is `404 not_found`,
 * a thrown error goes through the same mapping as the API's (no internals in production).
 */
export function registerEdgeHandlers(app: FastifyInstance, options: { production: boolean }): void {
  app.setNotFoundHandler(async (request, reply) => {
    const out = describeError(Object.assign(new Error("Not Found"), { statusCode: 404 }), request, false);
    return reply.code(out.status).send(out.body);
  });
  app.setErrorHandler(async (err, request, reply) => {
    const out = describeError(err, request, options.production);
    if (out.status >= 500) request.log.error({ err }, "request failed");
    return reply.code(out.status).headers(out.headers).send(out.body);
  });
}
