import { createHash, timingSafeEqual } from "node:crypto";
import { type ConsoleRole, type ConsoleSession, csrfToken, type Engine, hashToken } from "@keel/engine";
import type { Scope } from "@keel/protocol/names";
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from "fastify";
import { ApiError } from "../api/errors.js";
import { admitOrRefuse, type FailureLimiter } from "../api/failure-limiter.js";

export const COOKIE = "keel_console";
/** Outside localhost the cookie is `__Host-` prefixed: Secure, whole host, no Domain (RFC 6265bis). */
export const SECURE_COOKIE = `__Host-${COOKIE}`;

const RANK: Record<ConsoleRole, number> = { read: 0, operate: 1, admin: 2 };

/** True when `role` may do what needs `needed`. */
export function may(role: ConsoleRole, needed: ConsoleRole): boolean {
  return RANK[role] >= RANK[needed];
}

/**
 * The console role of a token's scopes (decision 041): `admin` → admin; `read` with `publish`
 * → operate (it may already write jobs through the API); `read` → read; `publish` alone is an
 * application's credential, not an operator's, and may not sign in.
 */
export function roleOfScopes(scopes: readonly Scope[]): ConsoleRole | null {
  if (scopes.includes("admin")) return "admin";
  if (scopes.includes("read")) return scopes.includes("publish") ? "operate" : "read";
  return null;
}

export interface SignInOptions {
  engine: Engine;
  adminToken: string | undefined;
  /** KEEL_CONSOLE_PASSWORD; signs in as admin. */
  password: string | undefined;
  /** Token sign-in allowed (always outside production; in production when KEEL_CONSOLE=on). */
  tokens: boolean;
  limiter: FailureLimiter;
  idleMs: number;
  absoluteMs: number;
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * Exchanges a token or the console password for a session, slowed like API authentication
 * (the same failure limiter per address). Throws `console_sign_in_failed` or `too_many_requests`.
 */
export async function signIn(
  options: SignInOptions,
  credential: string,
  request: FastifyRequest,
  log: FastifyBaseLogger,
): Promise<ConsoleSession & { secret: string }> {
  const address = request.ip;
  const attempt = await admitOrRefuse(options.limiter, address, "failed sign-ins");
  let found: { role: ConsoleRole; actor: string } | null;
  try {
    found = await identify(options, credential.trim());
  } catch (err) {
    attempt.succeeded();
    throw err;
  }
  if (!found) {
    attempt.failed();
    log.warn({ address }, "console sign-in failed");
    throw new ApiError("console_sign_in_failed", {
      detail: "the token or password is unknown, revoked, or may not sign in.",
    });
  }
  attempt.succeeded();
  const session = await options.engine.consoleSessions.create({
    ...found,
    source: address,
    idleMs: options.idleMs,
    absoluteMs: options.absoluteMs,
  });
  log.info({ actor: found.actor, role: found.role, address }, "console sign-in");
  return session;
}

async function identify(
  options: SignInOptions,
  credential: string,
): Promise<{ role: ConsoleRole; actor: string } | null> {
  if (credential === "") return null;
  const given = digest(credential);
  // Equal-length digests: comparison time says nothing about the secrets.
  if (options.password && timingSafeEqual(given, digest(options.password))) {
    return { role: "admin", actor: "console:password" };
  }
  if (!options.tokens) return null;
  if (options.adminToken && timingSafeEqual(hashToken(credential), hashToken(options.adminToken))) {
    return { role: "admin", actor: "console:token:admin" };
  }
  const info = await options.engine.tokens.verify(credential);
  const role = info ? roleOfScopes(info.scopes) : null;
  return info && role ? { role, actor: `console:token:${info.id}` } : null;
}

/** The session cookie's value, if the request carries one. */
export function sessionSecret(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    const name = part.slice(0, eq).trim();
    if (name === COOKIE || name === SECURE_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * Localhost is served over plain HTTP in development; everywhere else the cookie is Secure. The
 * host is the request's (X-Forwarded-Host from a trusted proxy, KEEL_TRUST_PROXY).
 */
export function isLocalhost(request: FastifyRequest): boolean {
  const host = (request.host ?? "").replace(/:\d+$/, "").toLowerCase();
  return host === "localhost" || host === "127.0.0.1" || host === "[::1]";
}

export function setSessionCookie(
  reply: FastifyReply,
  request: FastifyRequest,
  secret: string,
  maxAgeS: number,
) {
  const secure = !isLocalhost(request);
  const name = secure ? SECURE_COOKIE : COOKIE;
  const attrs = [`${name}=${secret}`, "Path=/", "HttpOnly", "SameSite=Strict", `Max-Age=${maxAgeS}`];
  if (secure) attrs.push("Secure");
  reply.header("set-cookie", attrs.join("; "));
}

export function clearSessionCookie(reply: FastifyReply, request: FastifyRequest) {
  const secure = !isLocalhost(request);
  const name = secure ? SECURE_COOKIE : COOKIE;
  reply.header(
    "set-cookie",
    `${name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? "; Secure" : ""}`,
  );
}

/**
 * Refuses a state-changing request that a browser says comes from another site: its `Origin`
 * must name this host, or (without `Origin`) `Sec-Fetch-Site` must be `same-origin`. Session
 * forms also carry the CSRF token (checked by `checkCsrfToken`).
 */
export function checkOrigin(request: FastifyRequest): void {
  const origin = request.headers.origin;
  if (typeof origin === "string" && origin !== "") {
    let host: string | undefined;
    try {
      host = new URL(origin).host;
    } catch {}
    if (host === undefined || host.toLowerCase() !== (request.host ?? "").toLowerCase()) {
      throw new ApiError("console_csrf_rejected", { detail: "the Origin header names another site" });
    }
    return;
  }
  const site = request.headers["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin" && site !== "none") {
    throw new ApiError("console_csrf_rejected", { detail: `Sec-Fetch-Site is ${String(site)}` });
  }
}

export function checkCsrfToken(secret: string, given: unknown): void {
  const expected = Buffer.from(csrfToken(secret));
  const got = Buffer.from(typeof given === "string" ? given : "");
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
    throw new ApiError("console_csrf_rejected", { detail: "the form's CSRF token is missing or wrong" });
  }
}
