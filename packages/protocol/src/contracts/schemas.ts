/**
 * The API's data shapes, defined once in zod: the route contracts use them to validate requests
 * (on the server), to type handlers and the SDK's client, and to make the OpenAPI document. The
 * engine's own checks run behind them for what a schema cannot say (cron, time zones, variables).
 */
import { z } from "zod";
import {
  BIGINT_ID,
  HANDLER_NAME,
  HEADER_NAME,
  isStorableText,
  JOB_STATES,
  MAX_ATTEMPT_TIMEOUT_MS,
  MAX_DELAY_MS,
  MAX_PAYLOAD_DEPTH,
  MIN_ATTEMPT_TIMEOUT_MS,
  QUEUE_NAME,
  SCOPES,
} from "../names.js";
import { FlowSettings, flowJobFields } from "./flow.js";

const NOT_STORABLE = "contains a NUL character or a broken surrogate pair, which Postgres cannot store";

/** True when Postgres can store the string in text and jsonb columns (the engine's own check). */
export const storable = isStorableText;

/** A string of `min`–`max` characters that Postgres can store. */
export const text = (max: number, min = 1) => z.string().min(min).max(max).refine(storable, NOT_STORABLE);

export const JobIdSchema = z.string().regex(BIGINT_ID, "must be a job id (digits)");
/** Ids of tokens and audit entries: Postgres bigints, as strings. */
export const DIGITS = BIGINT_ID;
/** A page size. */
export const Limit = z.coerce.number().int().min(1).max(1000).optional().meta({ description: "Default 50." });
export const QueueName = z
  .string()
  .regex(QUEUE_NAME, "1–100 letters, digits and _.:- starting with a letter or digit");
export const JobStateSchema = z.enum(JOB_STATES);
export const ScopeSchema = z.enum(SCOPES);
export const Timestamp = z.iso.datetime({ offset: true });

/**
 * Any JSON value: at most MAX_PAYLOAD_DEPTH levels deep, finite numbers, storable strings.
 * Walked without recursion so hostile nesting cannot overflow the stack here either.
 */
export const Payload = z.unknown().superRefine((value, ctx) => {
  const stack: { v: unknown; at: string; depth: number }[] = [{ v: value, at: "", depth: 0 }];
  // `at` is the path below the payload; the error mapper appends it to the payload's own path.
  const refuse = (at: string, why: string) =>
    ctx.addIssue({ code: "custom", message: why, params: { keelCode: "payload_not_serializable", at } });
  while (stack.length > 0) {
    const { v, at, depth } = stack.pop() as (typeof stack)[number];
    if (typeof v === "number" && !Number.isFinite(v)) return refuse(at, "numbers must be finite");
    if (typeof v === "string" && !storable(v)) return refuse(at, NOT_STORABLE);
    if (v === null || typeof v !== "object") continue;
    if (depth >= MAX_PAYLOAD_DEPTH) return refuse(at, `nested deeper than ${MAX_PAYLOAD_DEPTH} levels`);
    for (const [k, child] of Object.entries(v)) {
      if (!storable(k)) return refuse(at, `a key ${NOT_STORABLE}`);
      stack.push({ v: child, at: Array.isArray(v) ? `${at}[${k}]` : `${at}.${k}`, depth: depth + 1 });
    }
  }
});

export const HandlerTarget = z
  .strictObject({
    handler: z.string().regex(HANDLER_NAME, "letters, digits and _.:/- only, up to 200"),
  })
  .meta({ title: "Handler target", description: "Run by a Node pull worker that registered this handler." });

/** One HTTP attempt's time limit in milliseconds (connect, response headers and recorded body together). */
export const AttemptTimeout = z
  .number()
  .int("must be a whole number of milliseconds")
  .min(MIN_ATTEMPT_TIMEOUT_MS, `must be at least ${MIN_ATTEMPT_TIMEOUT_MS} (1 s)`)
  .max(MAX_ATTEMPT_TIMEOUT_MS, `must be at most ${MAX_ATTEMPT_TIMEOUT_MS} (1 h)`);

/** True when the URL has a `user[:password]@` part (which would be stored and shown with the job). */
export function hasUrlCredentials(url: string): boolean {
  if (!URL.canParse(url)) return false;
  const parsed = new URL(url);
  return parsed.username !== "" || parsed.password !== "";
}

export const HttpTarget = z
  .strictObject({
    url: z
      .string()
      .max(2048)
      .regex(/^[Hh][Tt][Tt][Pp][Ss]?:\/\//, "must be an absolute http(s) URL")
      .refine((u) => URL.canParse(u) && storable(u), "must be an absolute http(s) URL")
      .refine(
        (u) => !hasUrlCredentials(u),
        "must not contain credentials (user:password@): they would be stored and shown with the job; send them in a header with ${VAR} instead, e.g. Authorization: Bearer ${API_TOKEN}",
      ),
    method: z
      .enum(["GET", "POST", "PUT", "PATCH", "DELETE"])
      .optional()
      .meta({ description: "Default POST." }),
    timeoutMs: AttemptTimeout.optional().meta({
      description:
        "Most milliseconds one attempt may take. Default: the queue's deliveryTimeoutMs, else 30000.",
    }),
    headers: z
      .record(z.string().regex(HEADER_NAME), text(8192, 0), {
        error: (issue) => (issue.code === "invalid_key" ? "invalid header name" : undefined),
      })
      .refine((h) => Object.keys(h).length <= 50, "at most 50 headers")
      .optional()
      .meta({ description: "Sent with each delivery; `${VAR}` is read from Keel's environment then." }),
    signing: z.enum(["standard", "qstash"]).optional().meta({
      description:
        "How deliveries are signed. Default `standard` (Standard Webhooks); `qstash` adds an `Upstash-Signature` JWT made with KEEL_QSTASH_CURRENT_SIGNING_KEY, for receivers using QStash's `Receiver`.",
    }),
    contentType: z
      .string()
      .regex(/^[A-Za-z0-9!#$&^_.+-]+\/[\x20-\x7e]{1,200}$/, "must be a media type, e.g. text/plain")
      .optional()
      .meta({
        description:
          "Send the payload as the body with this Content-Type: a string payload verbatim, anything else as its JSON. Default: the payload's JSON as application/json.",
      }),
  })
  .meta({ title: "HTTP target", description: "Delivered by Keel as a signed HTTP request." });

export const Target = z.union([HandlerTarget, HttpTarget]);

export const Backoff = z
  .discriminatedUnion(
    "type",
    [
      z.strictObject({
        type: z.literal("exponential"),
        baseMs: z.number().int().min(1).max(86_400_000).optional(),
        maxMs: z.number().int().min(1).max(MAX_DELAY_MS).optional(),
        jitter: z.boolean().optional(),
      }),
      z.strictObject({ type: z.literal("fixed"), delayMs: z.number().int().min(0).max(MAX_DELAY_MS) }),
      z.strictObject({
        type: z.literal("list"),
        delaysMs: z.array(z.number().int().min(0).max(MAX_DELAY_MS)).min(1).max(100),
      }),
    ],
    { error: "type must be exponential, fixed or list" },
  )
  .meta({ description: "Wait before the next attempt after a failure; defaults to the queue's." });

/**
 * The job options the API's job input and the engine's enqueue share (the engine's input adds
 * `delayMs`, a `Date` for `runAt` and the job's origin; the API's says `delay`).
 */
export const jobOptionFields = {
  queue: QueueName.optional(),
  priority: z.number().int().min(-32768).max(32767).optional(),
  maxAttempts: z.number().int().min(1, "must be at least 1").max(1000).optional(),
  backoff: Backoff.optional(),
  dedupeKey: text(255).optional(),
  tenant: text(255).optional(),
  ...flowJobFields,
};

export const JobInput = z
  .strictObject({
    queue: jobOptionFields.queue.meta({ description: "Created on first use. Default `default`." }),
    target: Target,
    payload: Payload.optional().meta({
      description: `Any JSON value, nested at most ${MAX_PAYLOAD_DEPTH} deep; its JSON is limited to 1 MiB by default.`,
    }),
    delay: z
      .number()
      .int()
      .min(0)
      .max(MAX_DELAY_MS)
      .optional()
      .meta({ description: "Run no earlier than this many milliseconds from now. Not with runAt." }),
    runAt: Timestamp.refine((s) => Date.parse(s) >= Date.parse("1970-01-01T00:00:00Z"), "must be after 1970")
      .optional()
      .meta({ description: "Run no earlier than this instant (ISO 8601 with offset). Not with delay." }),
    priority: jobOptionFields.priority.meta({ description: "Higher runs first." }),
    maxAttempts: jobOptionFields.maxAttempts,
    backoff: jobOptionFields.backoff,
    dedupeKey: jobOptionFields.dedupeKey.meta({
      description: "While an unfinished job of the queue has this key, it is returned instead.",
    }),
    tenant: jobOptionFields.tenant.meta({ description: "Groups jobs for per-tenant concurrency limits." }),
    ...flowJobFields,
  })
  .refine((j) => j.delay === undefined || j.runAt === undefined, {
    message: "give either delay or runAt, not both",
    path: ["delay"],
  });

export const JobCreated = z.strictObject({
  id: z.string(),
  state: JobStateSchema,
  deduplicated: z
    .boolean()
    .meta({ description: "True when an unfinished job with the dedupe key was returned." }),
});

const JobErrorOut = z.object({
  code: z.string().optional(),
  message: z.string(),
  name: z.string().optional(),
  stack: z.string().optional(),
});

const TargetOut = z.union([
  z.object({ handler: z.string() }),
  z.object({
    url: z.string(),
    method: z.string().optional(),
    headers: z.record(z.string(), z.string()).optional().meta({
      description: "Values of credential-like headers show as [redacted] unless a `${VAR}` reference.",
    }),
    timeoutMs: z.number().int().optional(),
  }),
]);

const Attempt = z.strictObject({
  attempt: z.number().int(),
  workerId: z.string().nullable(),
  outcome: z.enum(["succeeded", "failed", "lease_expired", "released", "cancelled"]),
  error: JobErrorOut.nullable(),
  startedAt: Timestamp,
  finishedAt: Timestamp,
  responseStatus: z.number().int().nullable(),
  latencyMs: z.number().nullable(),
  responseBody: z.string().nullable().meta({ description: "The first 16 KiB of the response body." }),
});

const JobOriginOut = z
  .strictObject({
    schedule: z.string().optional(),
    fireTime: z.string().optional(),
    trigger: z.enum(["cron", "manual", "backfill"]).optional(),
    source: z.string().optional(),
    event: z.string().optional(),
    config: z.literal(true).optional().meta({
      description:
        "The schedule or source route that made it is declared in the config file: it may read the `${VAR}`s the file names.",
    }),
  })
  .meta({
    description: "What created the job: a schedule slot or an intake event; null when enqueued directly.",
  });

const jobFields = {
  id: z.string(),
  queue: z.string(),
  target: TargetOut,
  state: JobStateSchema,
  priority: z.number().int(),
  attempt: z.number().int(),
  maxAttempts: z.number().int(),
  dedupeKey: z.string().nullable(),
  tenant: z.string().nullable(),
  lastError: JobErrorOut.nullable(),
  runAt: Timestamp,
  createdAt: Timestamp,
  finishedAt: Timestamp.nullable(),
  origin: JobOriginOut.nullable(),
};

export const JobSummary = z.strictObject(jobFields);

export const Job = z.strictObject({
  ...jobFields,
  payload: z.unknown(),
  backoff: z.unknown().nullable(),
  leaseUntil: Timestamp.nullable(),
  workerId: z.string().nullable(),
  attempts: z.array(Attempt),
});

export const Queue = z.strictObject({
  name: z.string(),
  paused: z.boolean(),
  concurrency: z.number().int().nullable(),
  tenantConcurrency: z.number().int().nullable(),
  maxAttempts: z.number().int(),
  backoff: z.unknown(),
  retentionSucceededSeconds: z.number().int(),
  retentionDeadSeconds: z.number().int(),
  deliveryTimeoutMs: z
    .number()
    .int()
    .nullable()
    .meta({ description: "HTTP attempt timeout for targets that set none; null: 30000." }),
  flow: FlowSettings.nullable().meta({
    description:
      "Flow control per key value (docs/flow-control.md); null: none. tenantConcurrency shows here as key tenant.",
  }),
  counts: z.record(JobStateSchema, z.number().int()),
  oldestReadyAgeSeconds: z
    .number()
    .meta({ description: "Seconds the oldest ready job has waited; 0 if none." }),
});

export const Switch = z.strictObject({
  name: z.string(),
  enabled: z.boolean(),
  reason: z.string().nullable(),
  updatedBy: z.string(),
  updatedAt: Timestamp,
});

export const Token = z.strictObject({
  id: z.string(),
  name: z.string(),
  prefix: z.string().meta({ description: "The first characters of the token, to recognise it." }),
  scopes: z.array(ScopeSchema),
  createdBy: z.string(),
  createdAt: Timestamp,
  lastUsedAt: Timestamp.nullable(),
  revokedBy: z.string().nullable(),
  revokedAt: Timestamp.nullable(),
});

export const AuditEntry = z.strictObject({
  id: z.string(),
  at: Timestamp,
  actor: z.string(),
  action: z.string(),
  target: z.string().nullable(),
  source: z.string().nullable(),
  details: z.record(z.string(), z.unknown()).nullable(),
});

export const ErrorEnvelope = z
  .strictObject({
    error: z.strictObject({
      code: z.string().meta({ description: "Stable; programs match on it (docs/reference/errors.md)." }),
      message: z.string().meta({ description: "For people: says what to change." }),
    }),
  })
  .meta({ title: "Error" });

/** A bodyless POST or DELETE: no body, or an empty JSON object. */
export const NoBody = z.strictObject({}).nullish();
