import {
  AttemptTimeout,
  Backoff,
  FlowSettings,
  HandlerTarget,
  HttpTarget,
  hasUrlCredentials,
  jobOptionFields,
} from "@keel/protocol/contracts";
import {
  HANDLER_NAME,
  isStorableText,
  MAX_DELAY_MS,
  MAX_PAYLOAD_DEPTH,
  QUEUE_NAME,
} from "@keel/protocol/names";
import { z } from "zod";
import { KeelError } from "../errors.js";
import { type EnqueueInput, HTTP_HANDLER, type QueueSettings } from "./types.js";

/** How long to wait between attempts (one definition: @keel/protocol/contracts' Backoff). */
export const backoffSchema = Backoff;

/** One attempt's time limit in milliseconds (connect, response headers and recorded body together). */
export const attemptTimeoutSchema = AttemptTimeout;

export { hasUrlCredentials };

/**
 * One enqueue call's input: the API's job options (one definition, @keel/protocol/contracts)
 * plus what only in-process callers pass: `delayMs`, a `Date` for `runAt`, the job's origin.
 * `target` and `payload` are checked after it (validateTarget, checkSerializable).
 */
export const enqueueSchema = z.strictObject({
  queue: jobOptionFields.queue,
  target: z.unknown().optional(),
  payload: z.unknown().optional(),
  delayMs: z.number().int().min(0, "must not be negative").max(MAX_DELAY_MS).optional(),
  runAt: z.union([z.date(), z.iso.datetime({ offset: true })]).optional(),
  priority: jobOptionFields.priority,
  maxAttempts: jobOptionFields.maxAttempts,
  backoff: jobOptionFields.backoff,
  dedupeKey: jobOptionFields.dedupeKey,
  tenant: jobOptionFields.tenant,
  flowKey: jobOptionFields.flowKey,
  flowConcurrency: jobOptionFields.flowConcurrency,
  singleton: jobOptionFields.singleton,
  debounce: jobOptionFields.debounce,
  origin: z
    .strictObject({
      schedule: z.string().regex(QUEUE_NAME).optional(),
      fireTime: z.iso.datetime({ offset: true }).optional(),
      trigger: z.enum(["cron", "manual", "backfill"]).optional(),
      source: z.string().regex(QUEUE_NAME).optional(),
      event: z.string().min(1).max(64).optional(),
      config: z.literal(true).optional(),
    })
    .optional(),
});

export const queueSettingsSchema = z.strictObject({
  concurrency: z.number().int().min(1).max(100_000).nullable().optional(),
  tenantConcurrency: z.number().int().min(1).max(100_000).nullable().optional(),
  maxAttempts: z.number().int().min(1).max(1000).optional(),
  backoff: backoffSchema.nullable().optional(),
  retentionSucceededSeconds: z.number().int().min(0).optional(),
  retentionDeadSeconds: z.number().int().min(0).optional(),
  deliveryTimeoutMs: attemptTimeoutSchema.nullable().optional(),
  flow: FlowSettings.nullable().optional(),
});

/** A validated job, shaped for the enqueue statement. */
export interface EnqueueRow {
  ord: number;
  queue: string;
  handler: string;
  target: unknown;
  payload: unknown;
  run_at: string | null;
  delay_ms: number | null;
  priority: number | null;
  max_attempts: number | null;
  backoff: unknown;
  dedupe_key: string | null;
  tenant: string | null;
  origin: unknown;
  flow_key?: string | null;
  flow_concurrency?: number | null;
  singleton_key?: string | null;
  debounce_key?: string | null;
  debounce_max_ms?: number | null;
}

export interface ValidateOptions {
  payloadLimitBytes: number;
}

/** The part of a zod issue read here: the same in zod 3 and zod 4. */
type Issue = { code: string; path: readonly PropertyKey[]; message: string; keys?: readonly string[] };

/** Turns the first zod issue into a KeelError naming the field and what to change. */
export function toKeelError(error: { issues: readonly Issue[] }, prefix: string): KeelError {
  const issue = error.issues[0] as Issue;
  const path = [prefix, ...issue.path].filter((p) => p !== "").join(".");
  if (issue.code === "unrecognized_keys") {
    return new KeelError("unknown_option", {
      option: [path, issue.keys?.[0]].filter(Boolean).join("."),
      accepted: prefix === "target" ? "handler | url, method, headers, timeoutMs" : acceptedKeys(prefix),
    });
  }
  return new KeelError("invalid_argument", { detail: `${path || "input"}: ${issue.message}` });
}

function acceptedKeys(prefix: string): string {
  if (prefix === "") return Object.keys(enqueueSchema.shape).join(", ");
  if (prefix === "settings") return Object.keys(queueSettingsSchema.shape).join(", ");
  return "see the docs";
}

/** Validates one enqueue call; throws KeelError with a stable code on bad input. */
export function validateEnqueue(input: EnqueueInput, ord: number, options: ValidateOptions): EnqueueRow {
  if (input === null || typeof input !== "object") {
    throw new KeelError("invalid_argument", { detail: "each job must be an object with at least a target" });
  }
  let job = plainJob(input);
  if (!job) {
    const parsed = enqueueSchema.safeParse(input);
    if (!parsed.success) throw toKeelError(parsed.error, "");
    job = parsed.data;
  }
  if (job.delayMs !== undefined && job.runAt !== undefined) {
    throw new KeelError("invalid_argument", { detail: "give either delayMs or runAt, not both" });
  }
  checkFlowOptions(job);
  const target = handlerOnly(job.target) ?? validateTarget(job.target);
  const payload = job.payload === undefined ? null : job.payload;
  const size = checkSerializable(payload);
  if (size > options.payloadLimitBytes) {
    throw new KeelError("payload_too_large", { size, limit: options.payloadLimitBytes });
  }
  return {
    ord,
    queue: job.queue ?? "default",
    handler: "handler" in target ? target.handler : HTTP_HANDLER,
    target,
    payload,
    run_at: job.runAt === undefined ? null : new Date(job.runAt).toISOString(),
    delay_ms: job.delayMs ?? null,
    priority: job.priority ?? null,
    max_attempts: job.maxAttempts ?? null,
    backoff: job.backoff ?? null,
    dedupe_key: job.dedupeKey ?? null,
    tenant: job.tenant ?? null,
    origin: job.origin ?? null,
    ...flowColumns(job),
  };
}

/** A job has at most one of dedupeKey, singleton and debounce; debounce sets its own run time. */
/** The rules between a job's flow options (a route's jobs are held to them when it is declared). */
export function checkFlowOptions(
  job: Partial<
    Pick<
      z.output<typeof enqueueSchema>,
      "dedupeKey" | "singleton" | "debounce" | "delayMs" | "runAt" | "flowKey" | "flowConcurrency"
    >
  >,
): void {
  const keys = (["dedupeKey", "singleton", "debounce"] as const).filter((k) => job[k] !== undefined);
  if (keys.length > 1) {
    throw new KeelError("flow_options_conflict", { detail: `give one of ${keys.join(" and ")}, not both` });
  }
  if (job.debounce && (job.delayMs !== undefined || job.runAt !== undefined)) {
    throw new KeelError("flow_options_conflict", {
      detail: "debounce runs the job after its quietMs: give no delay or runAt with it",
    });
  }
  if (job.singleton?.mode === "queue" && (job.flowKey !== undefined || job.flowConcurrency !== undefined)) {
    throw new KeelError("flow_options_conflict", {
      detail:
        "singleton mode queue makes the singleton key the flow key, one running at a time: give no flowKey or flowConcurrency with it",
    });
  }
}

/** The flow columns of a job: singleton drop is a dedupe key; debounce delays by its quiet period. */
function flowColumns(job: z.output<typeof enqueueSchema>): Partial<EnqueueRow> {
  if (
    job.flowKey === undefined &&
    job.flowConcurrency === undefined &&
    job.singleton === undefined &&
    job.debounce === undefined
  ) {
    return {};
  }
  const out: Partial<EnqueueRow> = {
    flow_key: job.flowKey ?? null,
    flow_concurrency: job.flowConcurrency ?? null,
  };
  if (job.singleton?.mode === "queue") out.singleton_key = job.singleton.key;
  else if (job.singleton) out.dedupe_key = job.singleton.key;
  if (job.debounce) {
    out.debounce_key = job.debounce.key;
    out.delay_ms = job.debounce.quietMs;
    out.debounce_max_ms = job.debounce.maxWaitMs ?? null;
  }
  return out;
}

const PLAIN_KEYS = new Set(["queue", "target", "payload"]);

/**
 * The common job — `queue`, `target`, `payload`, nothing else, the queue name valid — accepted
 * with the checks `enqueueSchema` makes of those fields but without its per-field walk over
 * thirteen options, a third of bulk enqueue's time (decision 024). Undefined for anything else,
 * which goes through the schema (and its error messages). Like the schema, returns a new object.
 */
export function plainJob(input: object): z.output<typeof enqueueSchema> | undefined {
  // for…in, as zod's strict check: inherited enumerable keys count too.
  for (const key in input) if (!PLAIN_KEYS.has(key)) return undefined;
  const { queue, target, payload } = input as { queue?: unknown; target?: unknown; payload?: unknown };
  if (queue !== undefined && !(typeof queue === "string" && QUEUE_NAME.test(queue))) return undefined;
  const job: z.output<typeof enqueueSchema> = {};
  if ("queue" in input && queue !== undefined) job.queue = queue;
  if ("target" in input) job.target = target;
  if ("payload" in input) job.payload = payload;
  return job;
}

/** `{handler}` with a valid name and no other key, as `handlerTarget` would parse it; else undefined. */
export function handlerOnly(target: unknown): { handler: string } | undefined {
  if (target === null || typeof target !== "object") return undefined;
  let keys = 0;
  for (const key in target) if (key !== "handler" || ++keys > 1) return undefined;
  if (keys !== 1) return undefined;
  const { handler } = target as { handler: unknown };
  return typeof handler === "string" && HANDLER_NAME.test(handler) ? { handler } : undefined;
}

/** Checks a job target; throws `invalid_target` (or `unknown_option`) naming the field. */
export function validateTarget(
  target: unknown,
): z.output<typeof HandlerTarget> | z.output<typeof HttpTarget> {
  if (target === null || typeof target !== "object") {
    throw new KeelError("invalid_target", {
      detail: "target must be {handler} or {url, method?, headers?, timeoutMs?}",
    });
  }
  const schema = "url" in target ? HttpTarget : "handler" in target ? HandlerTarget : undefined;
  if (!schema) throw new KeelError("invalid_target", { detail: "target needs either a handler or a url" });
  const parsed = schema.safeParse(target);
  if (!parsed.success) {
    const err = toKeelError(parsed.error, "target");
    if (err.code === "unknown_option") throw err;
    throw new KeelError("invalid_target", { detail: err.message });
  }
  return parsed.data;
}

/** Validates queue settings; throws KeelError on unknown keys or bad values. */
export function validateQueueSettings(settings: unknown): QueueSettings {
  const parsed = queueSettingsSchema.safeParse(settings ?? {});
  if (!parsed.success) throw toKeelError(parsed.error, "settings");
  return parsed.data;
}

/**
 * Returns the UTF-8 size of the payload's JSON. Rejects what JSON would silently change or
 * drop (functions, symbols, undefined in arrays, NaN, Infinity, Map, Set) and what it cannot
 * encode (BigInt, cycles), instead of storing something other than what the caller passed.
 */
export function checkSerializable(payload: unknown): number {
  if (!plainJson(payload, 0)) describeProblem(payload);
  return Buffer.byteLength(JSON.stringify(payload));
}

/**
 * True when JSON keeps `value` as it is: no paths, no cycle set (a cycle exceeds the depth
 * limit), so the usual payload costs one quick walk. False sends it to `describeProblem`.
 */
function plainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case "string":
      return isStorableText(value);
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value);
    case "object": {
      if (value === null) return true;
      if (depth > MAX_PAYLOAD_DEPTH || value instanceof Map || value instanceof Set) return false;
      if (typeof (value as { toJSON?: unknown }).toJSON === "function") return true;
      if (Array.isArray(value)) {
        for (const v of value) if (!plainJson(v, depth + 1)) return false;
        return true;
      }
      for (const k in value) {
        if (!Object.hasOwn(value, k)) continue;
        const v = (value as Record<string, unknown>)[k];
        if (!isStorableText(k) || (v !== undefined && !plainJson(v, depth + 1))) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/** Throws `payload_not_serializable` naming where the payload stops being plain JSON. */
function describeProblem(payload: unknown): void {
  const seen = new Set<object>();
  const walk = (value: unknown, path: string, depth: number): void => {
    switch (typeof value) {
      case "string":
        if (!isStorableText(value)) fail(path, "a NUL character or a broken surrogate pair cannot be stored");
        return;
      case "boolean":
        return;
      case "number":
        if (!Number.isFinite(value)) fail(path, `${value} is not a JSON number`);
        return;
      case "undefined":
      case "function":
      case "symbol":
      case "bigint":
        fail(path, `a ${typeof value} cannot be represented in JSON`);
        return;
      case "object": {
        if (value === null) return;
        if (depth > MAX_PAYLOAD_DEPTH) fail(path, `nested deeper than ${MAX_PAYLOAD_DEPTH} levels`);
        if (seen.has(value)) fail(path, "it refers to itself (a cycle)");
        if (value instanceof Map || value instanceof Set)
          fail(path, `a ${value.constructor.name} would become {}`);
        if (typeof (value as { toJSON?: unknown }).toJSON === "function") return;
        seen.add(value);
        if (Array.isArray(value)) for (const [i, v] of value.entries()) walk(v, `${path}[${i}]`, depth + 1);
        else {
          for (const [k, v] of Object.entries(value)) {
            if (!isStorableText(k))
              fail(`${path}.<key>`, "a key holds a NUL character or a broken surrogate pair");
            if (v !== undefined) walk(v, `${path}.${k}`, depth + 1);
          }
        }
        seen.delete(value);
      }
    }
  };
  walk(payload, "payload", 0);
}

function fail(path: string, why: string): never {
  throw new KeelError("payload_not_serializable", { detail: `${path}: ${why}` });
}
