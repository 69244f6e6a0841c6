import { z } from "zod";
import { type Contract, defineContract } from "./contract.js";
import { NoBody, Queue, QueueName, Switch, text } from "./schemas.js";

// The operator's levers: queues and kill switches.

const QueueParams = z.strictObject({ name: QueueName });

export const listQueues = defineContract({
  operationId: "listQueues",
  method: "GET",
  path: "/queues",
  tag: "Queues",
  summary: "Queues with settings, counts per state and the oldest ready job's age",
  scope: "read",
  responses: { 200: { description: "Every queue.", schema: z.strictObject({ queues: z.array(Queue) }) } },
  errors: [],
});

const Paused = z.strictObject({ name: z.string(), paused: z.boolean() });

export const pauseQueue = defineContract({
  operationId: "pauseQueue",
  method: "POST",
  path: "/queues/:name/pause",
  tag: "Queues",
  summary: "Stop claims from a queue in every process; running jobs finish",
  scope: "admin",
  params: QueueParams,
  body: NoBody,
  responses: { 200: { description: "Paused.", schema: Paused } },
  errors: ["queue_not_found"],
});

export const resumeQueue = defineContract({
  operationId: "resumeQueue",
  method: "POST",
  path: "/queues/:name/resume",
  tag: "Queues",
  summary: "Let workers claim from a queue again",
  scope: "admin",
  params: QueueParams,
  body: NoBody,
  responses: { 200: { description: "Resumed.", schema: Paused } },
  errors: ["queue_not_found"],
});

/** Which dead jobs a bulk retry or purge takes; every field given must match. */
const DeadFilter = z
  .strictObject({
    fingerprint: z
      .string()
      .regex(/^[0-9a-f]{12}$/, "12 hex digits, as GET /v1/failures reports it")
      .optional()
      .describe("Error fingerprint (code + message shape) of a failure group"),
    errorCode: z.string().min(1).max(200).optional().describe("The error's code"),
    olderThanSeconds: z.number().min(0).optional().describe("Died at least this many seconds ago"),
    tenant: z.string().min(1).max(200).optional(),
  })
  .nullish();

export const retryDead = defineContract({
  operationId: "retryDeadJobs",
  method: "POST",
  path: "/queues/:name/retry-dead",
  tag: "Queues",
  summary: "Retry every dead job of a queue, or those matching a filter",
  scope: "admin",
  params: QueueParams,
  body: DeadFilter,
  example: { fingerprint: "3f2a9c0d1e4b" },
  responses: {
    200: {
      description: "How many jobs went back.",
      schema: z.strictObject({ queue: z.string(), retried: z.number().int() }),
    },
  },
  errors: [],
});

export const purgeDead = defineContract({
  operationId: "purgeDeadJobs",
  method: "POST",
  path: "/queues/:name/purge-dead",
  tag: "Queues",
  summary: "Delete every dead job of a queue (or those matching a filter), with its attempts",
  scope: "admin",
  params: QueueParams,
  body: DeadFilter,
  responses: {
    200: {
      description: "How many dead jobs were deleted.",
      schema: z.strictObject({ queue: z.string(), purged: z.number().int() }),
    },
  },
  errors: [],
});

const FailureGroup = z.strictObject({
  queue: z.string(),
  fingerprint: z.string().describe("12 hex digits; pass as `fingerprint` to retry-dead"),
  shape: z.string().describe("Error code and message with strings, UUIDs, hex and numbers replaced"),
  example: z.string().nullable().describe("The newest message of the group"),
  exampleId: z.string(),
  counts: z.strictObject({
    lastHour: z.number().int(),
    lastDay: z.number().int(),
    lastWeek: z.number().int(),
  }),
  lastSeen: z.string(),
  capped: z
    .boolean()
    .describe("The queue had more dead jobs this week than were read; counts are at least these"),
});

export const listFailures = defineContract({
  operationId: "listFailures",
  method: "GET",
  path: "/failures",
  tag: "Queues",
  summary: "Jobs that died in the last 7 days, grouped by queue and error fingerprint",
  scope: "read",
  query: z.strictObject({ queue: QueueName.optional() }),
  responses: {
    200: { description: "Newest group first.", schema: z.strictObject({ failures: z.array(FailureGroup) }) },
  },
  errors: [],
});

export const listSwitches = defineContract({
  operationId: "listSwitches",
  method: "GET",
  path: "/switches",
  tag: "Switches",
  summary: "Kill switches that have been set (a switch never set is on)",
  scope: "read",
  responses: { 200: { description: "The switches.", schema: z.strictObject({ switches: z.array(Switch) }) } },
  errors: [],
});

export const setSwitch = defineContract({
  operationId: "setSwitch",
  method: "PUT",
  path: "/switches/:name",
  tag: "Switches",
  summary: "Turn a switch on or off",
  description: "Names: `scheduling`, `scheduling:<schedule>`, `enqueue:<queue>`, `process:<queue>`.",
  scope: "admin",
  params: z.strictObject({ name: z.string().min(1).max(120) }),
  body: z.strictObject({ enabled: z.boolean(), reason: text(500).nullable().optional() }),
  example: { enabled: false, reason: "poisoned queue, see incident 42" },
  responses: { 200: { description: "The switch as stored.", schema: Switch } },
  errors: ["invalid_switch"],
});

export const operationContracts: readonly Contract[] = [
  listQueues,
  pauseQueue,
  resumeQueue,
  retryDead,
  purgeDead,
  listFailures,
  listSwitches,
  setSwitch,
];
