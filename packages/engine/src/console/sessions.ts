import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Engine } from "../engine.js";
import { KeelError } from "../errors.js";

/** What a console session may do (decision 041): read everything, operate queues, or administer. */
export type ConsoleRole = "read" | "operate" | "admin";

export const CONSOLE_ROLES: readonly ConsoleRole[] = ["read", "operate", "admin"];

/** A live console session. The secret is never stored: only its SHA-256. */
export interface ConsoleSession {
  id: string;
  role: ConsoleRole;
  /** As written to the audit log: `console:token:<id>`, `console:password`. */
  actor: string;
  createdAt: Date;
  expiresAt: Date;
}

export interface NewSession {
  role: ConsoleRole;
  actor: string;
  /** The client's address, for the record. */
  source?: string | null;
  /** Ends after this long without a request. */
  idleMs: number;
  /** Ends this long after sign-in, however busy. */
  absoluteMs: number;
}

const SECRET = /^kcs_[A-Za-z0-9_-]{43}$/;

function digest(secret: string): Buffer {
  return createHash("sha256").update(secret).digest();
}

interface SessionRow {
  id: string;
  role: ConsoleRole;
  actor: string;
  created_at: Date;
  expires_at: Date;
}

const toSession = (r: SessionRow): ConsoleSession => ({
  id: r.id,
  role: r.role,
  actor: r.actor,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
});

/**
 * Operator console sessions, stored hashed in Postgres so that every replica honours a
 * sign-out at once and a database leak reveals no usable cookie.
 *
 * @example
 * const { secret } = await engine.consoleSessions.create({ role: "admin", actor: "console:password", idleMs: 1_800_000, absoluteMs: 43_200_000 });
 * await engine.consoleSessions.verify(secret); // { id, role: "admin", … }
 * await engine.consoleSessions.revoke(secret);
 */
export class ConsoleSessions {
  constructor(private readonly engine: Engine) {}

  /** Starts a session; `secret` (the cookie's value) is returned here and nowhere else. */
  async create(input: NewSession): Promise<ConsoleSession & { secret: string }> {
    const idle = Math.ceil(input.idleMs / 1000);
    const absolute = Math.ceil(input.absoluteMs / 1000);
    if (!(idle > 0 && absolute >= idle)) {
      throw new KeelError("invalid_argument", {
        detail: "console sessions: idle timeout must be positive and at most the absolute lifetime",
      });
    }
    // 256 random bits, base64url: 43 characters.
    const secret = `kcs_${randomBytes(32).toString("base64url")}`;
    const [row] = await this.engine.run<SessionRow>("console_session_create", [
      digest(secret),
      input.role,
      input.actor,
      input.source ?? null,
      idle,
      absolute,
    ]);
    return { ...toSession(row as SessionRow), secret };
  }

  /** The live session of `secret`, marked seen (its idle window restarts), or null. */
  async verify(secret: string): Promise<ConsoleSession | null> {
    if (typeof secret !== "string" || !SECRET.test(secret)) return null;
    const hash = digest(secret);
    const [row] = await this.engine.run<SessionRow & { hash: Buffer }>("console_session_touch", [hash]);
    if (!row || !timingSafeEqual(row.hash, hash)) return null;
    return toSession(row);
  }

  /** Ends the session of `secret` on every replica; true when it was live. */
  async revoke(secret: string): Promise<boolean> {
    if (typeof secret !== "string" || !SECRET.test(secret)) return false;
    const rows = await this.engine.run("console_session_revoke", [digest(secret)]);
    return rows.length > 0;
  }
}

/**
 * The CSRF token of a session: derived from its secret, so it needs no storage, and unknown to
 * anyone who cannot read the HttpOnly cookie.
 */
export function csrfToken(secret: string): string {
  return createHash("sha256").update(`keel-console-csrf:${secret}`).digest("base64url");
}
