import { timingSafeEqual } from "node:crypto";
import { type Engine, hashToken } from "@keel/engine";
import type { Scope } from "@keel/protocol/names";
import type { FastifyBaseLogger, FastifyRequest } from "fastify";
import { ApiError } from "./errors.js";
import { admitOrRefuse, type FailureLimiter } from "./failure-limiter.js";
import { contractOf } from "./route.js";

/** Who made a request. */
export interface Principal {
  /** `admin` for the bootstrap token, else the token id: the Idempotency-Key scope. */
  id: string;
  /** As written to the audit log: `api:token:<id>` (`api:token:admin` for the bootstrap token). */
  actor: string;
  scopes: readonly Scope[];
}

export interface AuthOptions {
  engine: Engine;
  /** KEEL_ADMIN_TOKEN; undefined or empty: only tokens from `engine.tokens` are accepted. */
  adminToken: string | undefined;
  limiter: FailureLimiter;
  log: (request: FastifyRequest) => FastifyBaseLogger;
  /**
   * The scope a request needs: null for public routes, undefined for "any valid token". Default:
   * the matched /v1 contract's scope (the QStash routes, which have no contract, pass their own).
   */
  scopeOf?: (request: FastifyRequest) => Scope | null | undefined;
}

const BEARER = /^Bearer +(\S+) *$/i;
const ADMIN: Principal = { id: "admin", actor: "api:token:admin", scopes: ["admin"] };

/** True when a principal with `scopes` may use a route that needs `needed`. */
export function allows(scopes: readonly Scope[], needed: Scope): boolean {
  if (scopes.includes("admin")) return true;
  if (needed === "read") return scopes.includes("read") || scopes.includes("publish");
  return scopes.includes(needed);
}

/**
 * Authentication and scopes as an onRequest hook (before the body is read). Routes without a
 * scope are public; unknown /v1 paths need any valid token, so a 404 reveals nothing to
 * strangers. The token itself is never logged nor echoed.
 *
 * @example
 * const auth = createAuth({ engine, adminToken, limiter: new FailureLimiter(), log: (r) => r.log });
 * app.addHook("onRequest", auth.authenticate);
 */
export function createAuth(options: AuthOptions) {
  const principals = new WeakMap<FastifyRequest, Principal>();
  const adminDigest = options.adminToken ? hashToken(options.adminToken) : undefined;

  async function identify(token: string): Promise<Principal | null> {
    // Equal-length digests: the comparison time says nothing about the admin token.
    const digest = hashToken(token);
    if (adminDigest && timingSafeEqual(digest, adminDigest)) return ADMIN;
    const info = await options.engine.tokens.verify(token, digest);
    return info ? { id: info.id, actor: `api:token:${info.id}`, scopes: info.scopes } : null;
  }

  async function authenticate(request: FastifyRequest): Promise<void> {
    const scope = (options.scopeOf ?? ((r) => contractOf(r)?.scope))(request);
    if (scope === null) return;
    const address = request.ip;
    // Admitted and counted in one step: concurrent guesses cannot all pass before one fails.
    const attempt = await admitOrRefuse(options.limiter, address, "failed authentications");
    const header = request.headers.authorization;
    const token = header === undefined ? undefined : BEARER.exec(header)?.[1];
    let principal: Principal | null;
    try {
      principal = token === undefined ? null : await identify(token);
    } catch (err) {
      // Not a guess that failed: the token could not be checked (Postgres unavailable).
      attempt.succeeded();
      throw err;
    }
    if (principal) attempt.succeeded();
    else {
      attempt.failed();
      const detail =
        header === undefined
          ? "No credentials were sent."
          : token === undefined
            ? "The Authorization header is not a Bearer token."
            : "The token is unknown or revoked.";
      options.log(request).warn({ address, reason: detail }, "api authentication failed");
      const error = token === undefined ? "" : ', error="invalid_token"';
      throw new ApiError("unauthorized", { detail }, { "www-authenticate": `Bearer realm="keel"${error}` });
    }
    const needed = scope ?? "read";
    if (!allows(principal.scopes, needed)) {
      options.log(request).warn({ actor: principal.actor, needed }, "api scope refused");
      throw new ApiError("forbidden", { scope: needed });
    }
    principals.set(request, principal);
  }

  return {
    authenticate,
    /** The principal of an authenticated request; null on public routes. */
    principalOf: (request: FastifyRequest): Principal | null => principals.get(request) ?? null,
  };
}
