import { z } from "zod";
import {
  EVENT_PATTERN,
  EVENT_STATUSES,
  HEADER_NAME,
  JSON_PATH,
  MAX_BODY_LIMIT_BYTES,
  PROVIDERS,
  SOURCE_NAME,
} from "../names.js";
import { type Contract, defineContract } from "./contract.js";
import {
  DIGITS,
  JobSummary,
  jobOptionFields,
  Limit,
  NoBody,
  QueueName,
  storable,
  Target,
  Timestamp,
  text,
} from "./schemas.js";

// Webhook intake: the events sources received (read, replay) and the sources themselves.
// The public endpoint POST /in/:source is not part of /v1 (its verifier is the auth).

export const SourceName = z
  .string()
  .regex(SOURCE_NAME, "1–100 letters, digits and _.:- starting with a letter or digit");
/** A source secret, or a `${VAR}` reference to one. */
const Secret = z
  .string()
  .min(1, "must not be empty")
  .max(1000)
  .refine(storable, "contains a character Postgres cannot store")
  .refine((value) => value.trim() === value, "has leading or trailing spaces (a copy-paste slip?)");
export const EventId = z.string().regex(DIGITS, "must be an event id (digits)");
export const EventStatusSchema = z.enum(EVENT_STATUSES);
const TypePattern = text(200).meta({
  description: "An event type, or a pattern where `*` matches anything.",
});
const Header = z.string().regex(HEADER_NAME, "must be an HTTP header name");
export const EventField = z.union(
  [
    z.strictObject({ header: Header }),
    z.strictObject({ path: z.string().regex(JSON_PATH, "must be a dotted path like event.id") }),
  ],
  { error: "must be {header: <name>} or {path: <dotted.path>}" },
);

export const Verification = z.strictObject({
  provider: z.enum(PROVIDERS),
  secret: z.number().int().meta({ description: "Which of the source's secrets matched (1 = first)." }),
  timestamp: Timestamp.optional().meta({
    description: "The signed timestamp, where the provider signs one.",
  }),
});

export const EventSummary = z.strictObject({
  id: z.string(),
  source: z.string(),
  eventId: z
    .string()
    .meta({ description: "The provider's event id (the dedupe key), or sha256:<digest of the body>." }),
  type: z.string().nullable(),
  contentType: z.string().nullable(),
  size: z.number().int().meta({ description: "Body size in bytes." }),
  status: EventStatusSchema.meta({
    description:
      "From the jobs of the latest routing: pending (one unfinished), failed (one dead or cancelled), delivered, unrouted (no route matched).",
  }),
  verification: Verification,
  receivedAt: Timestamp,
  routedAt: Timestamp,
  jobsCreated: z.number().int(),
  replays: z.number().int(),
});

export const Event = z.strictObject({
  ...EventSummary.shape,
  headers: z.record(z.string(), z.string()).meta({
    description: "As received, without hop-by-hop headers; credential-like values show as [redacted].",
  }),
  body: z.string().meta({ description: "The raw body: UTF-8 text, or base64 when it is not valid UTF-8." }),
  bodyEncoding: z.enum(["utf8", "base64"]),
  deliveries: z.array(JobSummary).meta({ description: "The jobs the event made (arrival and replays)." }),
});

export const Route = z.strictObject({
  events: z
    .array(
      z
        .string()
        .regex(
          EVENT_PATTERN,
          "an event type pattern: letters, digits and _.:/- with * for any run of characters",
        ),
    )
    .min(1, 'list at least one event type, or ["*"] for every event')
    .max(100)
    .optional()
    .meta({ description: 'Event type patterns; `*` matches any run of characters. Default ["*"].' }),
  target: Target,
  queue: QueueName.optional().meta({ description: "Default `intake`." }),
  flowKey: jobOptionFields.flowKey,
  flowConcurrency: jobOptionFields.flowConcurrency,
  singleton: jobOptionFields.singleton,
  debounce: jobOptionFields.debounce,
});

export const SourceInput = z
  .strictObject({
    provider: z.enum(PROVIDERS, {
      error: `unknown provider: use one of ${PROVIDERS.join(", ")} (Svix sources use standard)`,
    }),
    secrets: z.array(Secret).min(1, "give at least one secret").max(10, "at most 10 secrets").meta({
      description:
        "Every secret a request may be signed with (rotation). `${VAR}` is read from Keel's environment when a request is verified; literal secrets are stored, never returned.",
    }),
    toleranceSeconds: z.number().int().min(1).max(86_400).optional(),
    bodyLimitBytes: z.number().int().min(1).max(MAX_BODY_LIMIT_BYTES).optional(),
    retentionSeconds: z
      .number()
      .int()
      .min(3600, "keep events at least an hour (3600): deliveries read them")
      .max(10 * 365 * 86_400)
      .optional(),
    hmac: z
      .strictObject({
        header: Header,
        algorithm: z.enum(["sha256", "sha1", "sha512"]).optional(),
        encoding: z.enum(["hex", "base64"]).optional(),
        prefix: z.string().max(100).optional(),
        timestampHeader: Header.optional(),
        signed: z.string().max(200).optional(),
      })
      .optional(),
    bearer: z.strictObject({ header: Header.optional(), prefix: z.string().max(100).optional() }).optional(),
    eventId: EventField.optional(),
    eventType: EventField.optional(),
    routes: z.array(Route).max(50, "at most 50 routes").optional(),
  })
  .meta({ title: "Source definition" });

export const SecretOut = z.strictObject({
  reference: z
    .string()
    .nullable()
    .meta({ description: "The `${VAR}` reference, or null for a stored secret." }),
  fingerprint: z.string().nullable().meta({
    description:
      "The first 8 hex digits of the secret's SHA-256, to tell secrets apart; null when a reference is unset.",
  }),
});

export const Source = z.strictObject({
  name: z.string(),
  url: z.string().meta({ description: "Where the provider sends events, relative to Keel's address." }),
  provider: z.enum(PROVIDERS),
  secrets: z.array(SecretOut),
  toleranceSeconds: z.number().int().optional(),
  hmac: z.record(z.string(), z.unknown()).optional(),
  bearer: z.record(z.string(), z.unknown()).optional(),
  eventId: z.record(z.string(), z.string()).optional(),
  eventType: z.record(z.string(), z.string()).optional(),
  routes: z.array(
    z.strictObject({
      events: z.array(z.string()),
      target: z.unknown(),
      queue: z.string(),
      flowKey: z.string().optional(),
      flowConcurrency: z.number().int().optional(),
      singleton: z.strictObject({ key: z.string(), mode: z.enum(["drop", "queue"]).optional() }).optional(),
      debounce: z
        .strictObject({ key: z.string(), quietMs: z.number().int(), maxWaitMs: z.number().int().optional() })
        .optional(),
    }),
  ),
  bodyLimitBytes: z.number().int(),
  retentionSeconds: z.number().int(),
  managedBy: z.enum(["config", "api"]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const Rejection = z.strictObject({
  id: z.string(),
  at: Timestamp,
  reason: z.string(),
  detail: z.string().nullable(),
  headers: z.record(z.string(), z.string()),
  bodySize: z.number().int().nullable(),
  requestId: z.string().nullable(),
});

const filterFields = {
  source: SourceName.optional(),
  type: TypePattern.optional(),
  status: EventStatusSchema.optional(),
  since: Timestamp.optional().meta({ description: "Received at or after." }),
  until: Timestamp.optional().meta({ description: "Received before." }),
};

export const listEvents = defineContract({
  operationId: "listEvents",
  method: "GET",
  path: "/events",
  tag: "Events",
  summary: "Webhook events received, newest first, a page at a time",
  description: "Pass `nextCursor` as `cursor` for the next page; it is null on the last page.",
  scope: "read",
  query: z.strictObject({ ...filterFields, limit: Limit, cursor: EventId.optional() }),
  responses: {
    200: {
      description: "One page.",
      schema: z.strictObject({ events: z.array(EventSummary), nextCursor: z.string().nullable() }),
    },
  },
  errors: [],
});

export const getEvent = defineContract({
  operationId: "getEvent",
  method: "GET",
  path: "/events/:id",
  tag: "Events",
  summary: "An event with its raw body, headers, verification and deliveries",
  scope: "read",
  params: z.strictObject({ id: EventId }),
  responses: { 200: { description: "The event.", schema: Event } },
  errors: ["event_not_found"],
});

const Replayed = z.strictObject({ id: z.string(), jobs: z.array(z.string()) });

export const replayEvent = defineContract({
  operationId: "replayEvent",
  method: "POST",
  path: "/events/:id/replay",
  tag: "Events",
  summary: "Route an event again through its source's current routes",
  description: "Makes a new job per matching route; the event's status follows them from now on.",
  scope: "admin",
  params: z.strictObject({ id: EventId }),
  body: NoBody,
  responses: { 200: { description: "The jobs made.", schema: Replayed } },
  errors: ["event_not_found", "source_not_found", "enqueue_disabled"],
});

export const replayEvents = defineContract({
  operationId: "replayEvents",
  method: "POST",
  path: "/events/replay",
  tag: "Events",
  summary: "Replay every event matching a filter, newest first",
  description:
    "At least one filter is required. At most `limit` events per call (default 1,000); when more match, pass `nextCursor` as `cursor` to go on.",
  scope: "admin",
  body: z
    .strictObject({
      ...filterFields,
      cursor: EventId.optional(),
      limit: z.number().int().min(1).max(10_000).optional(),
    })
    .refine((f) => Object.keys(filterFields).some((k) => f[k as keyof typeof filterFields] !== undefined), {
      message: "give at least one filter: source, type, status, since or until",
      path: ["source"],
    }),
  example: { source: "stripe", status: "failed", since: "2025-05-01T00:00:00Z" },
  responses: {
    200: {
      description: "What was replayed.",
      schema: z.strictObject({
        replayed: z.number().int(),
        skipped: z.number().int().meta({ description: "Events whose source no longer exists." }),
        jobs: z.number().int(),
        nextCursor: z.string().nullable(),
      }),
    },
  },
  errors: ["enqueue_disabled"],
});

const SourceParams = z.strictObject({ name: SourceName });

export const listSources = defineContract({
  operationId: "listSources",
  method: "GET",
  path: "/sources",
  tag: "Sources",
  summary: "Webhook sources, without their secrets",
  scope: "read",
  responses: { 200: { description: "Every source.", schema: z.strictObject({ sources: z.array(Source) }) } },
  errors: [],
});

export const getSource = defineContract({
  operationId: "getSource",
  method: "GET",
  path: "/sources/:name",
  tag: "Sources",
  summary: "A webhook source, without its secrets",
  scope: "read",
  params: SourceParams,
  responses: { 200: { description: "The source.", schema: Source } },
  errors: ["source_not_found"],
});

export const putSource = defineContract({
  operationId: "putSource",
  method: "PUT",
  path: "/sources/:name",
  tag: "Sources",
  summary: "Create or replace a webhook source",
  description:
    "The whole definition, secrets included (they are never returned). Sources declared in the config file cannot be changed here. Other replicas pick up a change within a second.",
  scope: "admin",
  params: SourceParams,
  body: SourceInput,
  example: {
    provider: "stripe",
    secrets: ["${STRIPE_WEBHOOK_SECRET}"],
    routes: [
      {
        events: ["customer.subscription.*", "invoice.paid"],
        target: { url: "https://crm.example.com/hooks/stripe" },
      },
    ],
  },
  responses: {
    201: { description: "Created.", schema: Source },
    200: { description: "Replaced (or already identical).", schema: Source },
  },
  errors: ["invalid_source", "invalid_target", "target_variable_not_allowed", "source_managed_by_config"],
});

export const deleteSource = defineContract({
  operationId: "deleteSource",
  method: "DELETE",
  path: "/sources/:name",
  tag: "Sources",
  summary: "Remove a webhook source (its events stay until retention)",
  scope: "admin",
  params: SourceParams,
  body: NoBody,
  responses: {
    200: { description: "Removed.", schema: z.strictObject({ name: z.string(), removed: z.literal(true) }) },
  },
  errors: ["source_not_found", "source_managed_by_config"],
});

export const listRejections = defineContract({
  operationId: "listSourceRejections",
  method: "GET",
  path: "/sources/:name/rejections",
  tag: "Sources",
  summary: "Recent refused requests of a source, newest first",
  description:
    "For debugging a misconfigured secret: reason, time, redacted headers and body size (never the body). The newest 100 are kept, at most 10 a second per source and process.",
  scope: "read",
  params: SourceParams,
  query: z.strictObject({ limit: Limit }),
  responses: {
    200: { description: "The rejections.", schema: z.strictObject({ rejections: z.array(Rejection) }) },
  },
  errors: ["source_not_found"],
});

export const intakeContracts: readonly Contract[] = [
  listEvents,
  getEvent,
  replayEvent,
  replayEvents,
  listSources,
  getSource,
  putSource,
  deleteSource,
  listRejections,
];
