/**
 * Keel's names, ids and limits, defined once: the HTTP contracts, the engine's checks, the
 * config file and the SDK all read them from here.
 *
 * @example
 * import { QUEUE_NAME } from "@keel/protocol/names";
 * QUEUE_NAME.test("email"); // true
 */

// Names

/** Queue names: 1–100 letters, digits and `_.:-`, starting with a letter or digit. */
export const QUEUE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;
/** Schedule names follow the queue name rules (a schedule's switch is `scheduling:<name>`). */
export const SCHEDULE_NAME = QUEUE_NAME;
/** Source names are path segments of `/in/<source>`: the queue name rules. */
export const SOURCE_NAME = QUEUE_NAME;
/** What a pull worker registers: up to 200 letters, digits and `_.:/-`. */
export const HANDLER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,199}$/;
/** Tenant ids appear in URLs and headers as given, so they are plain tokens. */
export const TENANT_ID = /^[A-Za-z0-9_.:@-]{1,128}$/;
/** Policy names: safe in Redis keys (no `:`), in structured-field strings, in Prometheus labels. */
export const POLICY_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
/** An HTTP header name (an RFC 9110 token). */
export const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
/** An event type pattern: `*`, `invoice.paid`, `customer.subscription.*`, `orders/create`. */
export const EVENT_PATTERN = /^[A-Za-z0-9_.:/*-]{1,200}$/;
/** A dotted path into a JSON body: `id`, `event.id`, `data.items.0.id`. */
export const JSON_PATH = /^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/;
/** `${VAR}`: a reference to Keel's environment in target headers and source secrets (global: use matchAll or replace). */
export const VARIABLE_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
/** Ids of jobs, events, tokens and audit entries: positive Postgres bigints, as strings. */
export const BIGINT_ID = /^[1-9][0-9]{0,18}$/;
/**
 * A page cursor of the jobs list: a job id, or `<microseconds>_<id>` (the last job's finish time
 * and id) for a queue's jobs in one finished state, which are listed in finish order.
 */
export const JOBS_CURSOR = /^(?:([0-9]{1,16})_)?([1-9][0-9]{0,18})$/;

// Closed lists

/** A job's states: `scheduled → available → running → succeeded`, `dead` after the last attempt. */
export const JOB_STATES = ["scheduled", "available", "running", "succeeded", "dead", "cancelled"] as const;
export type JobState = (typeof JOB_STATES)[number];
/** What an API token may do: `admin` has every scope, `publish` has `read`. */
export const SCOPES = ["admin", "publish", "read"] as const;
export type Scope = (typeof SCOPES)[number];
/** The verifiers a source can use (docs/intake/). */
export const PROVIDERS = ["stripe", "standard", "github", "shopify", "revenuecat", "hmac", "bearer"] as const;
export type Provider = (typeof PROVIDERS)[number];
/**
 * An event's status, from the jobs of its latest routing: `pending` while one is unfinished,
 * `failed` when one is dead or cancelled, `delivered` when all succeeded, `unrouted` when no
 * route matched.
 */
export const EVENT_STATUSES = ["pending", "delivered", "failed", "unrouted"] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];

// Limits

/** The longest delay a job or a backoff may ask for: ten years. */
export const MAX_DELAY_MS = 10 * 365 * 24 * 3600 * 1000;
/** HTTP attempt timeouts (target `timeoutMs`, queue `deliveryTimeoutMs`): 1 s to 1 h (decision 028). */
export const MIN_ATTEMPT_TIMEOUT_MS = 1_000;
export const MAX_ATTEMPT_TIMEOUT_MS = 3_600_000;
/** What an HTTP attempt may take when neither its target nor its queue says. */
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 30_000;
/** Deeper JSON than this is refused (Postgres' own jsonb limit is far deeper, but no job needs it). */
export const MAX_PAYLOAD_DEPTH = 64;
/** A job payload's JSON size limit unless the server is configured otherwise: 1 MiB. */
export const DEFAULT_PAYLOAD_LIMIT_BYTES = 1024 * 1024;
/** An intake source's body limit: 1 MiB by default, at most 10 MiB. */
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;
export const MAX_BODY_LIMIT_BYTES = 10 * 1024 * 1024;
/**
 * Longest provider event id stored (characters). The id is part of the events' unique key,
 * whose index rows Postgres caps at about 2.7 KB: 255 characters of UTF-8 stay well under it.
 */
export const MAX_EVENT_ID_LENGTH = 255;
/** An Idempotency-Key header: 1 to 255 characters. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

// A lone half of a surrogate pair: like NUL, Postgres text and jsonb cannot store it.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when Postgres can store the string in text and jsonb columns: no NUL, no lone surrogate. */
export function isStorableText(value: string): boolean {
  return !value.includes("\u0000") && !LONE_SURROGATE.test(value);
}

/** What became of a request carrying an Idempotency-Key (`keel_idempotency_requests_total{outcome}`). */
export type IdempotencyOutcome =
  /** First request with its key: it ran and its response was stored. */
  | "started"
  /** A retry after completion: the stored response was replayed. */
  | "replayed"
  /** A retry while the first still runs: 409. */
  | "in_flight"
  /** The key came with a different request: 422. */
  | "mismatch"
  /** No key on a route that requires one, or a malformed key: 400. */
  | "invalid_key"
  /** The store failed: 503, nothing ran. */
  | "unavailable";
