import { z } from "zod";
import { JOBS_CURSOR, MAX_IDEMPOTENCY_KEY_LENGTH } from "../names.js";
import { type Contract, defineContract } from "./contract.js";
import {
  Job,
  JobCreated,
  JobIdSchema,
  JobInput,
  JobStateSchema,
  JobSummary,
  Limit,
  NoBody,
  QueueName,
} from "./schemas.js";

// The job routes: create (one or a batch), read, list, retry, cancel.

const JobParams = z.strictObject({ id: JobIdSchema });
const IdempotencyHeaders = z.looseObject({
  "idempotency-key": z
    .string()
    .min(1)
    .max(MAX_IDEMPOTENCY_KEY_LENGTH)
    .optional()
    .meta({ description: "Repeats of the same request with this key get the first response (24 h)." }),
});
const Created = (description: string) => ({ description, schema: JobCreated });
const JOB_ERRORS = [
  "enqueue_disabled",
  "invalid_target",
  "target_variable_not_allowed",
  "payload_not_serializable",
  "flow_options_conflict",
  "idempotency_in_flight",
  "idempotency_key_reused",
] as const;

export const createJob = defineContract({
  operationId: "createJob",
  method: "POST",
  path: "/jobs",
  tag: "Jobs",
  summary: "Enqueue a job",
  description:
    "Committed to Postgres before the answer. A live job with the same dedupeKey (or singleton key) is returned instead; a debounce key replaces the pending job's payload and pushes its start (docs/flow-control.md).",
  scope: "publish",
  headers: IdempotencyHeaders,
  body: JobInput,
  example: { queue: "email", target: { handler: "sendWelcome" }, payload: { userId: 42 }, delay: 60000 },
  bodyLimit: "job",
  idempotent: true,
  responses: {
    201: Created("Enqueued."),
    200: Created(
      "An unfinished job with this dedupeKey or singleton key, or a pending one with this debounce key, exists: its id, `deduplicated: true`.",
    ),
  },
  errors: JOB_ERRORS,
});

export const createJobs = defineContract({
  operationId: "createJobs",
  method: "POST",
  path: "/jobs/batch",
  tag: "Jobs",
  summary: "Enqueue up to 1,000 jobs at once",
  description: "All or nothing: one invalid job or a switched-off queue refuses the whole batch.",
  scope: "publish",
  headers: IdempotencyHeaders,
  body: z.strictObject({ jobs: z.array(JobInput).min(1).max(1000) }),
  example: {
    jobs: [{ target: { url: "https://app.example.com/hooks/report" }, payload: { day: "2024-05-01" } }],
  },
  bodyLimit: "batch",
  idempotent: true,
  responses: {
    201: {
      description: "Results in input order.",
      schema: z.strictObject({ jobs: z.array(JobCreated) }),
    },
  },
  errors: JOB_ERRORS,
});

export const getJob = defineContract({
  operationId: "getJob",
  method: "GET",
  path: "/jobs/:id",
  tag: "Jobs",
  summary: "A job with its attempts",
  scope: "read",
  params: JobParams,
  responses: { 200: { description: "The job.", schema: Job } },
  errors: ["job_not_found"],
});

export const listJobs = defineContract({
  operationId: "listJobs",
  method: "GET",
  path: "/jobs",
  tag: "Jobs",
  summary: "Jobs, newest first, a page at a time",
  description:
    "Pass `nextCursor` as `cursor` for the next page; it is null on the last page. A queue's jobs in one finished state (`succeeded`, `dead`, `cancelled`) are listed the latest finished first.",
  scope: "read",
  query: z.strictObject({
    queue: QueueName.optional(),
    state: JobStateSchema.optional(),
    tenant: z.string().min(1).max(200).optional(),
    handler: z.string().min(1).max(200).optional().describe("A handler name; `@http` for HTTP targets"),
    host: z.string().min(1).max(253).optional().describe("The host of an HTTP target's URL"),
    dedupeKey: z.string().min(1).max(500).optional(),
    createdFrom: z.iso.datetime({ offset: true }).optional().describe("Created at or after (ISO 8601)"),
    createdTo: z.iso.datetime({ offset: true }).optional().describe("Created before (ISO 8601)"),
    limit: Limit,
    cursor: z
      .string()
      .regex(JOBS_CURSOR, "must be the nextCursor of an earlier page")
      .optional()
      .describe("An earlier page's `nextCursor` (or a job id: the page after that job)"),
  }),
  responses: {
    200: {
      description: "One page.",
      schema: z.strictObject({ jobs: z.array(JobSummary), nextCursor: z.string().nullable() }),
    },
  },
  errors: [],
});

export const retryJob = defineContract({
  operationId: "retryJob",
  method: "POST",
  path: "/jobs/:id/retry",
  tag: "Jobs",
  summary: "Put a dead or cancelled job back with fresh attempts",
  scope: "admin",
  params: JobParams,
  body: NoBody,
  responses: { 200: { description: "Back in its queue.", schema: z.strictObject({ id: z.string() }) } },
  errors: ["job_not_found", "job_not_retryable", "dedupe_key_taken"],
});

export const cancelJob = defineContract({
  operationId: "cancelJob",
  method: "POST",
  path: "/jobs/:id/cancel",
  tag: "Jobs",
  summary: "Cancel an unfinished job",
  description: "A running job's worker loses its lease.",
  scope: "admin",
  params: JobParams,
  body: NoBody,
  responses: {
    200: {
      description: "Cancelled.",
      schema: z.strictObject({
        id: z.string(),
        state: z.literal("cancelled"),
        previousState: JobStateSchema,
      }),
    },
  },
  errors: ["job_not_found", "job_already_finished"],
});

export const jobContracts: readonly Contract[] = [
  createJob,
  createJobs,
  getJob,
  listJobs,
  retryJob,
  cancelJob,
];
