import { z } from "zod";
import { MAX_IDEMPOTENCY_KEY_LENGTH, TENANT_ID } from "../names.js";
import { type Contract, defineContract } from "./contract.js";
import { jobOptionFields, Limit, NoBody, Payload, QueueName, Target, Timestamp } from "./schemas.js";

// Cron schedules and the tenant registry they fan out over (docs/schedules.md).

const ScheduleName = QueueName.meta({ description: "1–100 letters, digits and _.:-." });
const TenantId = z
  .string()
  .regex(TENANT_ID, "1–128 letters, digits and _.:@-")
  .meta({ description: "Used in URLs and headers as given." });
const NameParams = z.strictObject({ name: ScheduleName });

const FanOut = z
  .union([
    z.strictObject({ tenants: z.array(TenantId).min(1).max(10_000) }),
    z.strictObject({ registry: z.literal(true) }),
  ])
  .meta({ description: "One job per tenant per slot: a fixed list, or every tenant in the registry." });

/**
 * The schedule options the API's definition and the engine's check share; the engine adds what a
 * schema cannot say (the cron expression and time zone parse, `{{tenant}}` placeholders, the job
 * each slot makes), the API the target and payload schemas.
 */
export const scheduleOptionFields = {
  queue: jobOptionFields.queue,
  priority: jobOptionFields.priority,
  maxAttempts: jobOptionFields.maxAttempts,
  backoff: jobOptionFields.backoff,
  missed: z.enum(["latest", "all", "skip"]).optional(),
  backfillSeconds: z.number().int().min(1).max(31_622_400).optional(),
  overlap: z.enum(["allow", "skip", "queue"]).optional(),
  fanOut: FanOut.optional(),
  jitterSeconds: z.number().int().min(0).max(86_400).optional(),
  flowKey: jobOptionFields.flowKey,
  flowConcurrency: jobOptionFields.flowConcurrency,
};

export const ScheduleInput = z
  .strictObject({
    cron: z.string().min(1).max(200).meta({ description: "Five fields, or six with seconds first." }),
    timezone: z.string().min(1).max(100).optional().meta({ description: "IANA zone. Default UTC." }),
    target: Target.meta({ description: "`{{tenant}}` in the URL and headers is filled per fan-out job." }),
    queue: scheduleOptionFields.queue.meta({ description: "Default `default`." }),
    payload: Payload.optional(),
    priority: scheduleOptionFields.priority,
    maxAttempts: scheduleOptionFields.maxAttempts,
    backoff: scheduleOptionFields.backoff,
    missed: scheduleOptionFields.missed.meta({
      description:
        "Slots missed during downtime: fire the latest (default), all (within backfillSeconds), or skip.",
    }),
    backfillSeconds: scheduleOptionFields.backfillSeconds.meta({ description: "Default 86400." }),
    overlap: scheduleOptionFields.overlap.meta({
      description: "While the previous run is unfinished: run anyway (default), skip the slot, or queue it.",
    }),
    fanOut: scheduleOptionFields.fanOut,
    jitterSeconds: scheduleOptionFields.jitterSeconds,
    flowKey: scheduleOptionFields.flowKey.meta({
      description: "Every job's flow key (docs/flow-control.md); `{{tenant}}` is filled per fan-out job.",
    }),
    flowConcurrency: scheduleOptionFields.flowConcurrency,
  })
  .meta({ title: "Schedule definition" });

export const Schedule = z.strictObject({
  name: z.string(),
  cron: z.string(),
  timezone: z.string(),
  target: z.unknown(),
  queue: z.string(),
  payload: z.unknown(),
  priority: z.number().int().nullable(),
  maxAttempts: z.number().int().nullable(),
  backoff: z.unknown().nullable(),
  missed: z.enum(["latest", "all", "skip"]),
  backfillSeconds: z.number().int(),
  overlap: z.enum(["allow", "skip", "queue"]),
  fanOut: z.unknown().nullable(),
  jitterSeconds: z.number().int(),
  flowKey: z.string().nullable(),
  flowConcurrency: z.number().int().nullable(),
  managedBy: z
    .enum(["config", "api"])
    .meta({ description: "`config` schedules are changed in the config file." }),
  paused: z.boolean(),
  nextFireAt: Timestamp,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const ScheduleRun = z.strictObject({
  fireTime: Timestamp,
  tenant: z.string().nullable(),
  kind: z.enum(["cron", "manual", "backfill"]),
  outcome: z.enum(["enqueued", "queued", "skipped"]),
  reason: z.enum(["paused", "switch", "overlap", "missed", "enqueue_disabled"]).nullable(),
  lastFireTime: Timestamp.nullable().meta({ description: "A skipped range of missed slots ends here." }),
  skippedCount: z.number().int().nullable(),
  jobId: z.string().nullable(),
  jobState: z.string().nullable(),
  decidedAt: Timestamp,
});

const DEFINITION_ERRORS = [
  "invalid_cron",
  "invalid_timezone",
  "invalid_schedule",
  "invalid_target",
  "target_variable_not_allowed",
  "payload_not_serializable",
  "schedule_managed_by_config",
] as const;

export const listSchedules = defineContract({
  operationId: "listSchedules",
  method: "GET",
  path: "/schedules",
  tag: "Schedules",
  summary: "Every schedule with its next fire time",
  scope: "read",
  responses: {
    200: { description: "The schedules.", schema: z.strictObject({ schedules: z.array(Schedule) }) },
  },
  errors: [],
});

export const getSchedule = defineContract({
  operationId: "getSchedule",
  method: "GET",
  path: "/schedules/:name",
  tag: "Schedules",
  summary: "One schedule",
  scope: "read",
  params: NameParams,
  responses: { 200: { description: "The schedule.", schema: Schedule } },
  errors: ["schedule_not_found"],
});

export const putSchedule = defineContract({
  operationId: "putSchedule",
  method: "PUT",
  path: "/schedules/:name",
  tag: "Schedules",
  summary: "Create or replace a schedule",
  description:
    "Nothing is saved unless the whole definition is valid. A changed cron or time zone moves the next fire time; other changes keep it. Schedules from the config file are refused (409).",
  scope: "admin",
  params: NameParams,
  body: ScheduleInput,
  example: {
    cron: "0 9 * * 1-5",
    timezone: "Europe/London",
    fanOut: { tenants: ["acme", "globex"] },
    target: {
      url: "https://crm.example.com/api/internal/cron/chase",
      headers: { AUTH: "${QT_CRON_SECRET}", "X-Company-Id": "{{tenant}}" },
    },
  },
  responses: {
    200: { description: "Replaced (or unchanged).", schema: Schedule },
    201: { description: "Created.", schema: Schedule },
  },
  errors: DEFINITION_ERRORS,
});

export const deleteSchedule = defineContract({
  operationId: "deleteSchedule",
  method: "DELETE",
  path: "/schedules/:name",
  tag: "Schedules",
  summary: "Delete a schedule made through the API",
  scope: "admin",
  params: NameParams,
  responses: {
    200: { description: "Deleted.", schema: z.strictObject({ name: z.string(), deleted: z.literal(true) }) },
  },
  errors: ["schedule_not_found", "schedule_managed_by_config"],
});

export const pauseSchedule = defineContract({
  operationId: "pauseSchedule",
  method: "POST",
  path: "/schedules/:name/pause",
  tag: "Schedules",
  summary: "Pause: slots are recorded as skipped until resumed (the scheduling:<name> switch)",
  scope: "admin",
  params: NameParams,
  body: z.strictObject({ reason: z.string().max(500).optional() }).nullish(),
  responses: { 200: { description: "Paused.", schema: Schedule } },
  errors: ["schedule_not_found"],
});

export const resumeSchedule = defineContract({
  operationId: "resumeSchedule",
  method: "POST",
  path: "/schedules/:name/resume",
  tag: "Schedules",
  summary: "Resume; slots skipped while paused run only if `backfill` asks",
  scope: "admin",
  params: NameParams,
  body: z
    .strictObject({
      backfill: z.enum(["latest", "all"]).optional().meta({
        description: "Run the latest slot skipped by the pause, or all of them (within backfillSeconds).",
      }),
    })
    .nullish(),
  responses: {
    200: {
      description: "Resumed.",
      schema: z.strictObject({ schedule: Schedule, backfilled: z.number().int() }),
    },
  },
  errors: ["schedule_not_found"],
});

export const triggerSchedule = defineContract({
  operationId: "triggerSchedule",
  method: "POST",
  path: "/schedules/:name/trigger",
  tag: "Schedules",
  summary: "Run now: one job (per tenant with fan-out), whatever pause, switch and overlap say",
  scope: "admin",
  params: NameParams,
  body: NoBody,
  idempotent: true,
  headers: z.looseObject({ "idempotency-key": z.string().min(1).max(MAX_IDEMPOTENCY_KEY_LENGTH).optional() }),
  responses: {
    201: {
      description: "The jobs made.",
      schema: z.strictObject({
        fireTime: Timestamp,
        jobs: z.array(z.strictObject({ tenant: z.string().nullable(), jobId: z.string() })),
      }),
    },
  },
  errors: ["schedule_not_found", "enqueue_disabled", "idempotency_in_flight", "idempotency_key_reused"],
});

export const listScheduleRuns = defineContract({
  operationId: "listScheduleRuns",
  method: "GET",
  path: "/schedules/:name/runs",
  tag: "Schedules",
  summary: "Decided slots, newest first, with the state of each job",
  scope: "read",
  params: NameParams,
  query: z.strictObject({
    limit: Limit,
    before: z.string().max(300).optional().meta({ description: "The previous page's nextCursor." }),
  }),
  responses: {
    200: {
      description: "A page of runs.",
      schema: z.strictObject({ runs: z.array(ScheduleRun), nextCursor: z.string().nullable() }),
    },
  },
  errors: ["schedule_not_found"],
});

export const nextFireTimes = defineContract({
  operationId: "nextFireTimes",
  method: "GET",
  path: "/schedules/:name/next",
  tag: "Schedules",
  summary: "The next N fire times",
  scope: "read",
  params: NameParams,
  query: z.strictObject({
    count: z.coerce.number().int().min(1).max(1000).optional().meta({ description: "Default 5." }),
  }),
  responses: {
    200: {
      description: "Fire times, ISO 8601 UTC.",
      schema: z.strictObject({ fireTimes: z.array(Timestamp) }),
    },
  },
  errors: ["schedule_not_found"],
});

export const listTenants = defineContract({
  operationId: "listTenants",
  method: "GET",
  path: "/tenants",
  tag: "Schedules",
  summary: "The tenant registry that `fanOut: { registry: true }` schedules fan out over",
  scope: "read",
  responses: {
    200: {
      description: "Every tenant.",
      schema: z.strictObject({ tenants: z.array(z.strictObject({ id: z.string(), createdAt: Timestamp })) }),
    },
  },
  errors: [],
});

export const putTenant = defineContract({
  operationId: "putTenant",
  method: "PUT",
  path: "/tenants/:id",
  tag: "Schedules",
  summary: "Add a tenant to the registry (no-op when present)",
  scope: "admin",
  params: z.strictObject({ id: TenantId }),
  body: NoBody,
  responses: {
    200: {
      description: "Already present.",
      schema: z.strictObject({ id: z.string(), created: z.boolean() }),
    },
    201: { description: "Added.", schema: z.strictObject({ id: z.string(), created: z.boolean() }) },
  },
  errors: ["invalid_tenant"],
});

export const deleteTenant = defineContract({
  operationId: "deleteTenant",
  method: "DELETE",
  path: "/tenants/:id",
  tag: "Schedules",
  summary: "Remove a tenant from the registry",
  scope: "admin",
  params: z.strictObject({ id: TenantId }),
  responses: {
    200: { description: "Removed.", schema: z.strictObject({ id: z.string(), deleted: z.literal(true) }) },
  },
  errors: ["tenant_not_found"],
});

export const scheduleContracts: readonly Contract[] = [
  listSchedules,
  getSchedule,
  putSchedule,
  deleteSchedule,
  pauseSchedule,
  resumeSchedule,
  triggerSchedule,
  listScheduleRuns,
  nextFireTimes,
  listTenants,
  putTenant,
  deleteTenant,
];
