import { KeelError } from "@keel/engine";
import { HEADER_NAME } from "@keel/protocol/names";
import { isReservedHeader } from "../delivery/headers.js";

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
const METHODS: readonly Method[] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/** What a request's `Upstash-*` headers ask for, in Keel's terms. */
export interface UpstashOptions {
  method: Method;
  /** Upstash-Delay. */
  delayMs?: number;
  /** Upstash-Not-Before (unix seconds). */
  runAt?: Date;
  /** Upstash-Retries + 1: QStash counts retries, Keel counts attempts. */
  maxAttempts?: number;
  /** Upstash-Timeout. */
  timeoutMs?: number;
  /** Upstash-Deduplication-Id. */
  deduplicationId?: string;
  /** Upstash-Content-Based-Deduplication: true. */
  contentDeduplication: boolean;
  /** Upstash-Forward-<Name>: sent to the destination as <name>. */
  forward: Record<string, string>;
  /** Upstash-Cron (schedules). */
  cron?: string;
  /** Upstash-Schedule-Id (schedules). */
  scheduleId?: string;
  /** Upstash-Queue-Name (schedules). */
  queueName?: string;
}

/** Headers the client sends that change nothing Keel does (the SDK's telemetry). */
const IGNORED = /^upstash-telemetry-/;

/** QStash features Keel does not offer, by header, with what to do instead. */
const UNSUPPORTED: Record<string, [feature: string, hint: string]> = {
  "upstash-callback": [
    "Upstash-Callback (callbacks)",
    "read the outcome with GET /v1/jobs/<id>, or enqueue the follow-up from your handler",
  ],
  "upstash-failure-callback": [
    "Upstash-Failure-Callback (failure callbacks)",
    "dead jobs are listed by GET /v1/jobs?state=dead and `keel jobs list --state dead`",
  ],
  "upstash-retry-delay": [
    "Upstash-Retry-Delay (retry delay expressions)",
    "set the queue's backoff (PUT /v1/queues/<queue> or the config file)",
  ],
  "upstash-flow-control-key": [
    "Upstash-Flow-Control-Key (flow control)",
    "set the queue's concurrency, or enqueue to a queue with /v2/enqueue/<queue>/<url>",
  ],
  "upstash-flow-control-value": [
    "Upstash-Flow-Control-Value (flow control)",
    "set the queue's concurrency instead",
  ],
  "upstash-label": ["Upstash-Label (labels)", "use a queue per kind of message and filter jobs by queue"],
  "upstash-redact-fields": [
    "Upstash-Redact-Fields (redaction)",
    "pass secrets as ${VAR} references allowed by KEEL_TARGET_VARIABLES instead of literal values",
  ],
};

/**
 * Reads the `Upstash-*` headers of a QStash request (names lowercased, as Node gives them).
 * `context` says which ones apply: Upstash-Cron and Upstash-Schedule-Id only when creating a
 * schedule, Upstash-Delay and deduplication only when publishing. Any other `Upstash-*` header
 * is refused with `qstash_unsupported` naming it: silently ignoring a retry or callback
 * setting would change what the app relies on.
 *
 * @example
 * readUpstashHeaders({ "upstash-retries": "2", "upstash-forward-x-id": "7" }, "publish");
 * // { method: "POST", maxAttempts: 3, forward: { "x-id": "7" }, contentDeduplication: false }
 */
export function readUpstashHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  context: "publish" | "schedule",
): UpstashOptions {
  const out: UpstashOptions = { method: "POST", contentDeduplication: false, forward: {} };
  for (const [rawName, rawValue] of Object.entries(headers)) {
    const name = rawName.toLowerCase();
    if (!name.startsWith("upstash-") || IGNORED.test(name) || rawValue === undefined) continue;
    const value = (Array.isArray(rawValue) ? rawValue.join(", ") : rawValue).trim();
    if (name.startsWith("upstash-forward-")) {
      out.forward[forwardName(rawName)] = value;
      continue;
    }
    const unsupported = UNSUPPORTED[name];
    if (unsupported)
      throw new KeelError("qstash_unsupported", { feature: unsupported[0], hint: unsupported[1] });
    switch (context === "schedule" ? `s:${name}` : `p:${name}`) {
      case "p:upstash-method":
      case "s:upstash-method":
        out.method = method(value);
        break;
      case "p:upstash-delay":
        out.delayMs = duration(value, "Upstash-Delay");
        break;
      case "p:upstash-not-before":
        out.runAt = notBefore(value);
        break;
      case "p:upstash-retries":
      case "s:upstash-retries":
        out.maxAttempts = retries(value) + 1;
        break;
      case "p:upstash-timeout":
      case "s:upstash-timeout":
        out.timeoutMs = duration(value, "Upstash-Timeout");
        break;
      case "p:upstash-deduplication-id":
        out.deduplicationId = value;
        break;
      case "p:upstash-content-based-deduplication":
        out.contentDeduplication = value.toLowerCase() === "true";
        break;
      case "s:upstash-cron":
        out.cron = value;
        break;
      case "s:upstash-schedule-id":
        out.scheduleId = value;
        break;
      case "s:upstash-queue-name":
        out.queueName = value;
        break;
      default:
        throw new KeelError("qstash_unsupported", {
          feature: `The header ${rawName}`,
          hint:
            context === "schedule"
              ? "schedules take Upstash-Cron, Upstash-Schedule-Id, Upstash-Queue-Name, Upstash-Method, Upstash-Retries, Upstash-Timeout and Upstash-Forward-*"
              : "messages take Upstash-Method, Upstash-Delay, Upstash-Not-Before, Upstash-Retries, Upstash-Timeout, Upstash-Deduplication-Id, Upstash-Content-Based-Deduplication and Upstash-Forward-*; Upstash-Cron belongs to POST /v2/schedules/<url>",
        });
    }
  }
  return out;
}

/**
 * The header an `Upstash-Forward-<Name>` sets on the delivery. Headers Keel sets itself
 * (signatures, framing, `keel-*`, `webhook-*`, `upstash-signature`) are refused here, at
 * publish time, rather than failing every delivery later.
 */
function forwardName(rawName: string): string {
  const name = rawName.slice("upstash-forward-".length).toLowerCase();
  if (!HEADER_NAME.test(name)) {
    throw new KeelError("invalid_argument", { detail: `${rawName} does not name a valid header.` });
  }
  if (isReservedHeader(name)) {
    throw new KeelError("invalid_argument", {
      detail: `${rawName} would set '${name}', which Keel sets itself on every delivery; remove it.`,
    });
  }
  return name;
}

function method(value: string): Method {
  const upper = value.toUpperCase() as Method;
  if (!METHODS.includes(upper)) {
    throw new KeelError("invalid_argument", {
      detail: `Upstash-Method '${value}' is not one Keel delivers with; use ${METHODS.join(", ")}.`,
    });
  }
  return upper;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(?:\d+(?:ms|s|m|h|d))+$/;

/**
 * A QStash duration in milliseconds: `"90s"`, `"5m"`, `"1h30m"`, `"2d"`, or bare seconds (`"30"`).
 *
 * @example
 * duration("1h30m", "Upstash-Delay"); // 5400000
 */
export function duration(value: string, header: string): number {
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  if (!DURATION.test(value)) {
    throw new KeelError("invalid_argument", {
      detail: `${header} '${value}' is not a duration; write e.g. 30s, 5m, 1h30m or 2d.`,
    });
  }
  let ms = 0;
  for (const [, amount, unit] of value.matchAll(/(\d+)(ms|s|m|h|d)/g)) {
    ms += Number(amount) * (UNIT_MS[unit as string] as number);
  }
  return ms;
}

function notBefore(value: string): Date {
  if (!/^\d{1,12}$/.test(value)) {
    throw new KeelError("invalid_argument", {
      detail: `Upstash-Not-Before '${value}' is not a unix time in seconds.`,
    });
  }
  return new Date(Number(value) * 1000);
}

function retries(value: string): number {
  if (!/^\d{1,4}$/.test(value)) {
    throw new KeelError("invalid_argument", {
      detail: `Upstash-Retries '${value}' is not a whole number of retries (0 or more).`,
    });
  }
  return Number(value);
}
