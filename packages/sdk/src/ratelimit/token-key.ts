import { createHash } from "node:crypto";

// Node only (a synchronous SHA-256): the runtime-neutral keys are in keys.ts.

/**
 * The key of an API token: a SHA-256 digest of it, so the secret is never written to Redis or
 * Postgres (nor shows in their logs).
 *
 * @example
 * keyByToken(bearer); // "token:9f86d081884c7d659a2feaa0c55ad015"
 */
export function keyByToken(token: string): string {
  return `token:${createHash("sha256").update(token).digest("hex").slice(0, 32)}`;
}
