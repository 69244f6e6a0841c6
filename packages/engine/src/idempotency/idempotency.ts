import type { BeginInput, BeginResult, FinishInput, StoredResponse } from "@keel/protocol/idempotency";
import { MAX_IDEMPOTENCY_KEY_LENGTH } from "@keel/protocol/names";
import { GroupCommit } from "../db/group-commit.js";
import type { Client } from "../db/mutation.js";
import type { Engine } from "../engine.js";
import { KeelError } from "../errors.js";
import { deleteInBatches } from "../maintenance/task.js";

export type { BeginInput, BeginResult, FinishInput, StoredResponse } from "@keel/protocol/idempotency";

/** A `started` key's response, stored in the transaction that makes the request's change. */
export interface KeyedWrite<R> {
  scope: string;
  key: string;
  fingerprint: string;
  /** The response the request answers with, given what the change made. */
  response: (result: R) => StoredResponse;
}

type Row = {
  fingerprint: string;
  state: "started" | "completed";
  response_status: number | null;
  response_headers: Record<string, string> | null;
  response_body: string | null;
};

/** A slot's key in a group: scope and key. */
const slot = (input: { scope: string; key: string }) => `${input.scope}\u0000${input.key}`;

/**
 * Idempotency-Key semantics (IETF draft) on Postgres: the first request runs; a retry after it
 * finished gets the stored response (errors included); a retry while it runs gets "in_flight";
 * the same key with another request gets "mismatch".
 *
 * Concurrent `begin` calls are group-committed (`GroupCommit`, decision 063): one statement
 * takes every new key of the group. A key that exists already, or a second request with the
 * same key in the group, is then settled alone (taken over when abandoned or expired, else
 * answered from its record), so of any number of concurrent requests with one key exactly one
 * gets `started`.
 *
 * @example
 * const r = await engine.idempotency.begin({ scope: token.id, key, fingerprint });
 * if (r.state === "started") { const res = await run(); await engine.idempotency.finish({ scope: token.id, key, fingerprint, response: res }); }
 */
export class Idempotency {
  private begins: GroupCommit<BeginInput, BeginResult | { error: unknown }> | undefined;

  constructor(private readonly engine: Engine) {}

  async begin(input: BeginInput): Promise<BeginResult> {
    const { key } = input;
    if (typeof key !== "string" || key.length < 1 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
      throw new KeelError("invalid_argument", {
        detail: `Idempotency-Key: a string of 1–${MAX_IDEMPOTENCY_KEY_LENGTH} characters`,
      });
    }
    this.begins ??= new GroupCommit((inputs) => this.beginGroup(inputs));
    const out = await this.begins.submit(input);
    if ("error" in out) throw out.error;
    return out;
  }

  /** Statements that began keys, and `begin` calls they held, so far (a group begins many). */
  get beginGroups(): { flushes: number; items: number } {
    return { ...(this.begins?.counts ?? { flushes: 0, items: 0 }) };
  }

  /** Resolves once every `begin` submitted so far has been answered (the engine's `close`). */
  async drain(): Promise<void> {
    await this.begins?.drain();
  }

  /**
   * Stores the response of the request that began with `begin`. With `client`, in that
   * client's transaction: the record commits with the change the request made, or neither does.
   */
  async finish(input: FinishInput, options: { client?: Client } = {}): Promise<void> {
    const values = finishValues([input]);
    if (options.client) await this.engine.runOn(options.client, "idempotency_finish", values);
    else await this.engine.run("idempotency_finish", values);
  }

  /** @internal Stores several requests' responses in `client`'s transaction (a group commit's). */
  async finishMany(client: Client, inputs: FinishInput[]): Promise<void> {
    if (inputs.length > 0) await this.engine.runOn(client, "idempotency_finish", finishValues(inputs));
  }

  /**
   * Gives back a key whose request failed before its change committed (a 5xx), so a retry runs
   * at once. Only while the key is still started and its lock has not lapsed: a completed record
   * (the commit happened, its acknowledgement was lost) or one a retry took over is left alone.
   */
  async release(input: { scope: string; key: string; fingerprint: string }): Promise<void> {
    await this.engine.run("idempotency_release", [input.scope, input.key, input.fingerprint]);
  }

  /** Deletes expired records in batches (run by maintenance). */
  async expire(batch = 5_000): Promise<number> {
    return deleteInBatches(this.engine, "idempotency_expire", [], batch);
  }

  private async beginGroup(inputs: BeginInput[]): Promise<(BeginResult | { error: unknown })[]> {
    // The first input of each key goes into the insert; a later one with the same key is settled.
    const first = new Map<string, BeginInput>();
    for (const input of inputs) {
      const k = slot(input);
      if (!first.has(k)) first.set(k, input);
    }
    const taken = new Set<BeginInput>();
    for (const row of await this.insert([...first.values()])) taken.add(first.get(slot(row)) as BeginInput);
    // The rest (a key in use, or again in this group) are settled side by side, each failing
    // alone: the group's insert committed, so retrying the group would find its own keys in use.
    return Promise.all(
      inputs.map((input) =>
        taken.has(input)
          ? ({ state: "started" } as const)
          : this.settle(input).catch((error: unknown) => ({ error })),
      ),
    );
  }

  private insert(inputs: BeginInput[]): Promise<{ scope: string; key: string }[]> {
    return this.engine.run<{ scope: string; key: string }>("idempotency_insert", [
      inputs.map((i) => i.scope),
      inputs.map((i) => i.key),
      inputs.map((i) => i.fingerprint),
      inputs.map((i) => i.lockSeconds ?? 60),
      inputs.map((i) => i.ttlSeconds ?? 86_400),
    ]);
  }

  /** A key the group's insert did not take: take it over, or answer from its record. */
  private async settle(input: BeginInput): Promise<BeginResult> {
    const { scope, key, fingerprint } = input;
    const args = [scope, key, fingerprint, input.lockSeconds ?? 60, input.ttlSeconds ?? 86_400];
    for (;;) {
      if ((await this.engine.run("idempotency_takeover", args)).length > 0) return { state: "started" };
      const [row] = await this.engine.run<Row>("idempotency_get", [scope, key]);
      // Gone between the statements (expired and deleted): a fresh start is right.
      if (!row) {
        if ((await this.insert([input])).length > 0) return { state: "started" };
        continue;
      }
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
  }
}

/** `idempotency_finish`'s columns. */
function finishValues(inputs: FinishInput[]): unknown[] {
  return [
    inputs.map((i) => i.scope),
    inputs.map((i) => i.key),
    inputs.map((i) => i.fingerprint),
    inputs.map((i) => i.response.status),
    inputs.map((i) => JSON.stringify(i.response.headers)),
    inputs.map((i) => i.response.body),
  ];
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
