import { hash, randomBytes, timingSafeEqual } from "node:crypto";
import { SCOPES, type Scope } from "@keel/protocol/names";
import { auditChange } from "../audit/actions.js";
import type { MutationOptions } from "../db/mutation.js";
import type { Engine } from "../engine.js";
import { KeelError } from "../errors.js";
import { TokenCache } from "./cache.js";

export { SCOPES, type Scope };

/** A token as listed: never the secret itself, only its first characters. */
export interface TokenInfo {
  id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  createdBy: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedBy: string | null;
  revokedAt: Date | null;
}

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const TOKEN = /^keel_[0-9A-Za-z]{32}$/;

/** A new token: `keel_` and 32 base62 characters (190 random bits), recognisable by secret scanners. */
export function generateToken(): string {
  // 62 × 4 = 248 ≤ 256: rejecting bytes ≥ 248 keeps every character equally likely.
  let out = "";
  while (out.length < 32) {
    for (const b of randomBytes(48)) {
      if (b < 248 && out.length < 32) out += ALPHABET[b % 62];
    }
  }
  return `keel_${out}`;
}

/** SHA-256 of a token: what is stored, and what it is looked up and compared by. */
export function hashToken(token: string): Buffer {
  return hash("sha256", token, "buffer");
}

/**
 * API tokens, stored as SHA-256 hashes: a database leak reveals no usable token.
 *
 * @example
 * const { token } = await engine.tokens.create({ name: "ci", scopes: ["publish"] }, { by: "cli:alice@laptop" });
 * await engine.tokens.verify(token); // { id, name, scopes, … }
 */
export class Tokens {
  private readonly cache: TokenCache;
  /** Lookups of a token in Postgres so far (`verify` calls the cache did not answer); for tests. */
  lookups = 0;

  constructor(
    private readonly engine: Engine,
    options: { cacheMs?: number | undefined } = {},
  ) {
    this.cache = new TokenCache(engine, options.cacheMs ?? 60_000);
  }

  /**
   * Creates a token; the returned `token` is the only time the secret is available. Its
   * `token.create` audit row (name and scopes: never the token or its hash) commits with it.
   * `input.actor` is the older name of `by`.
   */
  async create(
    input: { name: string; scopes: Scope[]; actor?: string },
    options: MutationOptions = {},
  ): Promise<TokenInfo & { token: string }> {
    const name = typeof input.name === "string" ? input.name.trim() : "";
    if (name.length < 1 || name.length > 100) {
      throw new KeelError("invalid_argument", { detail: "name: give the token a name of 1–100 characters" });
    }
    const scopes = [...new Set(input.scopes)];
    if (scopes.length === 0 || scopes.some((s) => !SCOPES.includes(s))) {
      throw new KeelError("invalid_argument", { detail: `scopes: use one or more of ${SCOPES.join(", ")}` });
    }
    const by = options.by ?? input.actor ?? this.engine.actor;
    const token = generateToken();
    return this.engine.transaction(async (client) => {
      const [row] = await this.engine.runOn<TokenRow>(client, "create_token", [
        name,
        token.slice(0, 9),
        hashToken(token),
        scopes,
        by,
      ]);
      const info = toInfo(row as TokenRow);
      await this.engine.writeAudit(
        client,
        { ...options, by },
        auditChange("token.create", `token:${info.id}`, { name: info.name, scopes: info.scopes }),
      );
      return { ...info, token };
    }, options);
  }

  /**
   * The live token matching `token`, or null. The lookup is by hash; the final comparison is
   * constant-time so no timing reveals how much of a guess matched. A token verified in the
   * last minute is answered from memory while no revocation was announced since (`TokenCache`).
   * `tokenHash` is `hashToken(token)`, passed by a caller that computed it already.
   */
  async verify(token: string, tokenHash?: Buffer): Promise<TokenInfo | null> {
    if (typeof token !== "string" || !TOKEN.test(token)) return null;
    const sha = tokenHash ?? hashToken(token);
    const digest = sha.toString("base64");
    const kept = this.cache.get(digest);
    if (kept) return kept;
    const mark = this.cache.mark();
    this.lookups++;
    const [row] = await this.engine.run<TokenRow & { hash: Buffer }>("find_token", [sha]);
    if (!row || !timingSafeEqual(row.hash, sha)) return null;
    const info = toInfo(row);
    Object.freeze(info.scopes);
    this.cache.keep(digest, Object.freeze(info), mark);
    return info;
  }

  /** What the cache of verified tokens holds and hears (`TokenCache.state`): for tests. */
  get cacheState(): TokenCache["state"] {
    return this.cache.state;
  }

  /** Stops listening for revocations (the engine's `close`). */
  async close(): Promise<void> {
    await this.cache.close();
  }

  async list(): Promise<TokenInfo[]> {
    return (await this.engine.run<TokenRow>("list_tokens", [])).map(toInfo);
  }

  /**
   * Revokes a token at once, with its `token.revoke` audit row in the same transaction; revoking
   * twice keeps the first revocation and writes no second row. A string is taken as `by`.
   */
  async revoke(id: string, options: MutationOptions | string = {}): Promise<TokenInfo> {
    const opts = typeof options === "string" ? { by: options } : options;
    const by = opts.by ?? this.engine.actor;
    if (!/^[1-9][0-9]{0,18}$/.test(String(id))) throw new KeelError("token_not_found", { id: String(id) });
    const revoked = await this.engine.transaction(async (client) => {
      const [row] = await this.engine.runOn<TokenRow & { revoked_now: boolean }>(client, "revoke_token", [
        String(id),
        by,
      ]);
      if (!row) throw new KeelError("token_not_found", { id: String(id) });
      const info = toInfo(row);
      if (row.revoked_now) {
        await this.engine.writeAudit(
          client,
          { ...opts, by },
          auditChange("token.revoke", `token:${info.id}`, { name: info.name }),
        );
      }
      return info;
    }, opts);
    // This process forgets at once; other replicas when the notice reaches them.
    this.cache.forget();
    return revoked;
  }
}

interface TokenRow {
  id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  created_by: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_by: string | null;
  revoked_at: Date | null;
}

function toInfo(r: TokenRow): TokenInfo {
  return {
    id: r.id,
    name: r.name,
    prefix: r.prefix,
    scopes: r.scopes,
    createdBy: r.created_by,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at ?? null,
    revokedBy: r.revoked_by ?? null,
    revokedAt: r.revoked_at ?? null,
  };
}
