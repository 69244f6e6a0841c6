import { ERROR_CODES, type ErrorCode, formatError } from "@keel/protocol/errors";
import { requestFingerprint } from "@keel/protocol/json";
import { type IdempotencyOutcome, MAX_IDEMPOTENCY_KEY_LENGTH } from "@keel/protocol/names";
import type { IdempotencyStore } from "./store.js";
import { fromStored, toStored } from "./stored.js";

/** What happened to one request, for metrics (`keel_idempotency_requests_total{outcome}`). */
export type { IdempotencyOutcome };

export interface IdempotencyOptions {
  store: IdempotencyStore;
  /** Methods the middleware applies to; others pass through. Default POST and PATCH. */
  methods?: readonly string[];
  /** Answer 400 when the key is missing. Default true; false lets keyless requests run as usual. */
  required?: boolean;
  /** How long a completed response is replayed. Default 86,400 s (24 h). */
  ttlSeconds?: number;
  /**
   * After this long a request that never finished (its process crashed, or its handler threw
   * without answering) counts as abandoned and a retry with the same key runs again. Set it above
   * your slowest handler. Default 60 s.
   */
  lockSeconds?: number;
  /** Default `idempotency-key`. */
  header?: string;
  onOutcome?: (outcome: IdempotencyOutcome) => void;
  /** A response could not be stored (it was sent anyway; a retry will run again after lockSeconds). */
  onError?: (err: unknown) => void;
}

export interface IdempotentRequest {
  method: string;
  /** Path and query string. */
  url: string;
  key: string | undefined;
  scope: string;
  /** The raw body, or the body a framework parsed (its canonical JSON is digested). */
  body: unknown;
}

/** What to do with a request. */
export type Decision =
  /** Not covered (method, or no key where none is required): run it as usual. */
  | { kind: "pass" }
  /** Answer this (a replay, or a refusal) without running the handler. */
  | { kind: "answer"; replayed: boolean; status: number; headers: Record<string, string>; body: Uint8Array }
  /** Run the handler, then hand its response to `finish` before sending it. */
  | {
      kind: "run";
      finish(status: number, headers: Iterable<[string, HeaderValue]>, body: Uint8Array): Promise<void>;
    };

type HeaderValue = string | number | readonly string[] | undefined;

const MAX_KEY = MAX_IDEMPOTENCY_KEY_LENGTH;
const DEFAULT_METHODS = ["POST", "PATCH"];
const JSON_TYPE = "application/json; charset=utf-8";

/** Checks options once; returns the function adapters call per request. */
export function idempotencyProtocol(options: IdempotencyOptions): {
  header: string;
  applies(method: string): boolean;
  decide(request: IdempotentRequest): Promise<Decision>;
} {
  const ttlSeconds = options.ttlSeconds ?? 86_400;
  const lockSeconds = options.lockSeconds ?? 60;
  for (const [name, value] of Object.entries({ ttlSeconds, lockSeconds })) {
    if (!(Number.isInteger(value) && value >= 1))
      throw new TypeError(`idempotency: ${name} must be a whole number ≥ 1`);
  }
  const methods = new Set((options.methods ?? DEFAULT_METHODS).map((m) => m.toUpperCase()));
  const { store } = options;
  const report = (outcome: IdempotencyOutcome) => options.onOutcome?.(outcome);

  const decide = async (request: IdempotentRequest): Promise<Decision> => {
    const { key, scope } = request;
    if (key === undefined || key === "") {
      if (options.required === false) return { kind: "pass" };
      report("invalid_key");
      return refuse("idempotency_key_required");
    }
    if (key.length > MAX_KEY) {
      report("invalid_key");
      return refuse("invalid_argument", {
        detail: `Idempotency-Key: a string of 1–${MAX_KEY} characters.`,
      });
    }
    const fp = await requestFingerprint(request);
    let begun: Awaited<ReturnType<IdempotencyStore["begin"]>>;
    try {
      begun = await store.begin({ scope, key, fingerprint: fp, ttlSeconds, lockSeconds });
    } catch (err) {
      report("unavailable");
      options.onError?.(err);
      const detail = "the store did not answer";
      return refuse("idempotency_unavailable", { detail }, { "retry-after": "1" });
    }
    switch (begun.state) {
      case "in_flight":
        report("in_flight");
        return refuse("idempotency_in_flight", {}, { "retry-after": "1" });
      case "mismatch":
        report("mismatch");
        return refuse("idempotency_key_reused");
      case "completed":
        report("replayed");
        return { kind: "answer", replayed: true, ...fromStored(begun.response) };
    }
    report("started");
    return {
      kind: "run",
      finish: async (status, headers, body) => {
        try {
          await store.finish({ scope, key, fingerprint: fp, response: toStored(status, headers, body) });
        } catch (err) {
          // The work is done and answered; failing the request now would invite a repeat.
          options.onError?.(err);
        }
      },
    };
  };
  return {
    header: (options.header ?? "idempotency-key").toLowerCase(),
    applies: (method) => methods.has(method.toUpperCase()),
    decide,
  };
}

/** A refusal in Keel's error envelope, with the registry's status. */
function refuse(
  code: ErrorCode,
  params: Record<string, string> = {},
  headers: Record<string, string> = {},
): Decision {
  return {
    kind: "answer",
    replayed: false,
    status: ERROR_CODES[code].status,
    headers: { "content-type": JSON_TYPE, ...headers },
    body: new TextEncoder().encode(JSON.stringify({ error: { code, message: formatError(code, params) } })),
  };
}

/**
 * A raw body as the fingerprint sees it: JSON bodies parsed (so key order does not count, as
 * with the parsed bodies of Express and Fastify), anything else as bytes.
 */
export function fingerprintBody(bytes: Uint8Array, contentType: string | null | undefined): unknown {
  if (bytes.length === 0 || !/[/+]json\b/i.test(contentType ?? "")) return bytes;
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return bytes;
  }
}

/** Default scope: the request's credentials, so two clients' keys never meet. */
export async function credentialScope(authorization: string | undefined): Promise<string> {
  if (!authorization) return "";
  const digest = await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(authorization));
  const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  return `auth:${hex.slice(0, 32)}`;
}
