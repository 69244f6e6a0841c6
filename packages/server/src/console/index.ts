import type { ConsoleRole, ConsoleSession, Engine } from "@keel/engine";
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ApiError, describeError } from "../api/errors.js";
import type { FailureLimiter } from "../api/failure-limiter.js";
import type { DoctorService } from "../doctor/service.js";
import { CONSOLE_ASSETS } from "../generated/console-assets.js";
import {
  checkCsrfToken,
  checkOrigin,
  clearSessionCookie,
  may,
  sessionSecret,
  setSessionCookie,
  signIn,
} from "./auth.js";
import { type Html, html } from "./html.js";
import { type ConsoleCall, page } from "./page.js";
import type { ConsoleRoutes, Fields } from "./routes.js";
import { auditView } from "./views/audit.js";
import { doctorView } from "./views/doctor.js";
import { failuresView } from "./views/failures.js";
import { intakeViews } from "./views/intake.js";
import { jobViews } from "./views/jobs.js";
import { overviewView } from "./views/overview.js";
import { queueViews } from "./views/queues.js";
import { scheduleViews } from "./views/schedules.js";
import { signInPage } from "./views/sign-in.js";
import { switchViews } from "./views/switches.js";
import { tokenViews } from "./views/tokens.js";

export interface ConsoleOptions {
  engine: Engine;
  /** KEEL_ADMIN_TOKEN (signs in as admin when token sign-in is on). */
  adminToken: string | undefined;
  /** KEEL_CONSOLE_PASSWORD (signs in as admin). */
  password: string | undefined;
  /** Token sign-in: always outside production; in production with KEEL_CONSOLE=on. */
  tokens: boolean;
  /** The API's failure limiter: guesses at the console and the API count together. */
  limiter: FailureLimiter;
  /** The replica's doctor, shared with `GET /v1/doctor` and the metrics (the Doctor view). */
  doctor: DoctorService;
  production: boolean;
  logger?: FastifyBaseLogger | undefined;
  /** Where `${VAR}` in source secrets is read (fingerprints). Default `process.env`. */
  env?: NodeJS.ProcessEnv | undefined;
  /** A session ends after this long without a request. Default 30 minutes. */
  idleMs?: number;
  /** A session ends this long after sign-in. Default 12 hours. */
  absoluteMs?: number;
}

/** Strict: only this origin's stylesheet and script; no inline script or style, no framing. */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** The form body: every field as a string, repeated fields (checkboxes) joined with commas. */
function parseForm(text: string): Fields {
  const out: Fields = {};
  for (const [key, value] of new URLSearchParams(text)) {
    out[key] = key in out ? `${out[key]},${value}` : value;
  }
  return out;
}

/**
 * The operator console at /console (decision 040): server-rendered pages, a session cookie
 * from a token or the console password (decision 041), every action the same engine mutation
 * (and audit row) as the API and CLI, with the equivalent `keel …` command beside it.
 *
 * @example
 * registerConsole(app, { engine, adminToken, password: undefined, tokens: true, limiter: new FailureLimiter(), production: false });
 */
export function registerConsole(app: FastifyInstance, options: ConsoleOptions): void {
  const { engine, production } = options;
  const idleMs = options.idleMs ?? 30 * 60_000;
  const absoluteMs = options.absoluteMs ?? 12 * 3_600_000;
  const env = options.env ?? process.env;
  const sessions = new WeakMap<FastifyRequest, { session: ConsoleSession; secret: string }>();
  const log = (request: FastifyRequest): FastifyBaseLogger =>
    options.logger ? options.logger.child({ reqId: request.id }) : request.log;

  app.register(
    async (c) => {
      c.removeAllContentTypeParsers();
      c.addContentTypeParser(
        "application/x-www-form-urlencoded",
        { parseAs: "string", bodyLimit: 64 * 1024 },
        (_req, body, done) => done(null, parseForm(body as string)),
      );
      c.addHook("onRequest", async (_request, reply) => {
        reply
          .header("content-security-policy", CSP)
          .header("x-frame-options", "DENY")
          .header("x-content-type-options", "nosniff")
          .header("referrer-policy", "same-origin")
          .header("cross-origin-opener-policy", "same-origin")
          .header("cache-control", "no-store");
      });
      c.setErrorHandler(async (err, request, reply) => {
        const out = describeError(err, request, production);
        if (out.status >= 500) log(request).error({ err }, "console request failed");
        const current = sessions.get(request);
        const call = current ? { engine, request, ...current } : null;
        const body = html`<p class="error" role="alert"><strong>${out.body.error.code}</strong>: ${out.body.error.message}</p>
<p><a href="/console">Back to the overview</a></p>`;
        return reply
          .code(out.status)
          .headers(out.headers)
          .type("text/html; charset=utf-8")
          .send(page(call, out.status === 404 ? "Not found" : "Refused", body).text);
      });
      c.setNotFoundHandler(async (request) => {
        throw new ApiError("not_found", { method: request.method, path: request.url.split("?")[0] });
      });

      for (const [name, asset] of Object.entries(CONSOLE_ASSETS)) {
        c.get(`/assets/${name}`, async (_request, reply) =>
          reply.header("cache-control", "public, max-age=300").type(asset.type).send(asset.text),
        );
      }

      const sendPage = (reply: FastifyReply, doc: Html, status = 200) =>
        reply.code(status).type("text/html; charset=utf-8").send(doc.text);

      // Sign-in and sign-out.
      c.get("/sign-in", async (request, reply) => {
        const q = request.query as Fields;
        return sendPage(
          reply,
          signInPage({
            signedOut: q["signed-out"] === "1",
            password: !!options.password,
            tokens: options.tokens,
          }),
        );
      });
      c.post("/sign-in", async (request, reply) => {
        checkOrigin(request);
        const form = (request.body ?? {}) as Fields;
        try {
          const session = await signIn(
            { ...options, idleMs, absoluteMs },
            form.credential ?? "",
            request,
            log(request),
          );
          // A sign-in replaces the session the browser had, if any: it ends on the server too.
          const previous = sessionSecret(request);
          if (previous) await engine.consoleSessions.revoke(previous);
          setSessionCookie(reply, request, session.secret, Math.ceil(absoluteMs / 1000));
          return reply.code(303).header("location", "/console").send();
        } catch (err) {
          if (!(err instanceof ApiError)) throw err;
          return sendPage(
            reply.headers(err.headers),
            signInPage({ error: err.message, password: !!options.password, tokens: options.tokens }),
            err.status,
          );
        }
      });
      c.post("/sign-out", async (request, reply) => {
        checkOrigin(request);
        const secret = sessionSecret(request);
        if (secret) {
          checkCsrfToken(secret, ((request.body ?? {}) as Fields)._csrf);
          await engine.consoleSessions.revoke(secret);
        }
        clearSessionCookie(reply, request);
        return reply.code(303).header("location", "/console/sign-in?signed-out=1").send();
      });

      /** The request's session, or null (the caller decides: redirect or refuse). */
      async function session(request: FastifyRequest): Promise<ConsoleCall | null> {
        const secret = sessionSecret(request);
        const found = secret ? await engine.consoleSessions.verify(secret) : null;
        if (!found || !secret) return null;
        sessions.set(request, { session: found, secret });
        return { engine, session: found, secret, request };
      }
      const refuse = (call: ConsoleCall, needed: ConsoleRole) => {
        if (!may(call.session.role, needed)) {
          throw new ApiError("console_role_refused", { role: call.session.role, needed });
        }
      };
      const local = (path: string) => path.slice("/console".length) || "/";

      const routes: ConsoleRoutes = {
        get(path, handler, needed = "read") {
          c.get(local(path), async (request, reply) => {
            const call = await session(request);
            if (!call) return reply.code(303).header("location", "/console/sign-in").send();
            refuse(call, needed);
            const doc = await handler(call, request.params as Fields, request.query as Fields);
            return sendPage(reply, doc);
          });
        },
        post(path, needed, handler) {
          c.post(local(path), async (request, reply) => {
            // Cross-site first: a forged form learns nothing, not even whether a session exists.
            checkOrigin(request);
            const call = await session(request);
            if (!call) throw new ApiError("console_signed_out");
            const form = (request.body ?? {}) as Fields;
            checkCsrfToken(call.secret, form._csrf);
            refuse(call, needed);
            const result = await handler(call, request.params as Fields, form);
            if ("page" in result) return sendPage(reply, result.page);
            return reply.code(303).header("location", result.redirect).send();
          });
        },
      };
      overviewView(routes);
      queueViews(routes);
      jobViews(routes);
      failuresView(routes);
      scheduleViews(routes);
      intakeViews(routes, env);
      switchViews(routes);
      tokenViews(routes);
      auditView(routes);
      doctorView(routes, options.doctor);
    },
    { prefix: "/console" },
  );
}
