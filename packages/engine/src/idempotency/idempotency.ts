import type { BeginInput, BeginResult, StoredResponse } from "@keel/protocol/idempotency";
import { MAX_IDEMPOTENCY_KEY_LENGTH } from "@keel/protocol/names";
import type { Client } from "../db/mutation.js";
import type { Engine } from "../engine.js";
import { KeelError } from "../errors.js";
import { deleteInBatches } from "../maintenance/task.js";

export type { BeginInput, BeginResult, StoredResponse } from "@keel/protocol/idempotency";

/**
 * Idempotency-Key semantics (IETF draft) on Postgres: the first request runs; a retry after it
 * finished gets the stored response (errors included); a retry while it runs gets "in_flight";
 * the same key with another request gets "mismatch".
 *
 * @example
 * const r = await engine.idempotency.begin({ scope: token.id, key, fingerprint });
 * if (r.state === "started") { const res = await run(); await engine.idempotency.finish({ scope: token.id, key, fingerprint, response: res }); }
 */
export class Idempotency {
  constructor(private readonly engine: Engine) {}

  async begin(input: BeginInput): Promise<BeginResult> {
    const { scope, key, fingerprint } = input;
    if (typeof key !== "string" || key.length < 1 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
      throw new KeelError("invalid_argument", {
        detail: `Idempotency-Key: a string of 1–${MAX_IDEMPOTENCY_KEY_LENGTH} characters`,
      });
    }
    const args = [scope, key, fingerprint, input.lockSeconds ?? 60, input.ttlSeconds ?? 86_400];
    if ((await this.engine.run("idempotency_insert", args)).length > 0) return { state: "started" };
    if ((await this.engine.run("idempotency_takeover", args)).length > 0) return { state: "started" };
    const [row] = await this.engine.run<{
      fingerprint: string;
      state: "started" | "completed";
      response_status: number | null;
      response_headers: Record<string, string> | null;
      response_body: string | null;
    }>("idempotency_get", [scope, key]);
    // Gone between the statements (expired and deleted): a fresh start is right.
    if (!row) return this.begin(input);
    if (row.fingerprint !== fingerprint) return { state: "mismatch" };
    if (row.state === "started") return { state: "in_flight" };
    return {
      state: "completed",
      response: {
        status: row.response_status ?? 500,
        headers: row.response_headers ?? {},
        body: row.response_body ?? "",
      },
    };
  }

  /**
   * Stores the response of the request that began with `begin`. With `client`, in that
   * client's transaction: the record commits with the change the request made, or neither does.
   */
  async finish(
    input: { scope: string; key: string; fingerprint: string; response: StoredResponse },
    options: { client?: Client } = {},
  ): Promise<void> {
    const { scope, key, fingerprint, response } = input;
    const values = [
      scope,
      key,
      fingerprint,
      response.status,
      JSON.stringify(response.headers),
      response.body,
    ];
    if (options.client) await this.engine.runOn(options.client, "idempotency_finish", values);
    else await this.engine.run("idempotency_finish", values);
  }

  /** Deletes expired records in batches (run by maintenance). */
  async expire(batch = 5_000): Promise<number> {
    return deleteInBatches(this.engine, "idempotency_expire", [], batch);
  }
}

/** Values generated once and shared by every replica (development secrets). */
export class Settings {
  constructor(private readonly engine: Engine) {}

  /** The stored value of `key`, storing `generate()` first when there is none. */
  async getOrCreate(key: string, generate: () => string): Promise<{ value: string; created: boolean }> {
    const [inserted] = await this.engine.run<{ value: string }>("setting_insert", [key, generate()]);
    if (inserted) return { value: inserted.value, created: true };
    const [row] = await this.engine.run<{ value: string }>("setting_get", [key]);
    if (!row) throw new Error(`setting ${key} vanished while being read`);
    return { value: row.value, created: false };
  }
}
