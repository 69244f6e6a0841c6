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

export const retryDead = defineContract({
  operationId: "retryDeadJobs",
  method: "POST",
  path: "/queues/:name/retry-dead",
  tag: "Queues",
  summary: "Retry every dead job of a queue",
  scope: "admin",
  params: QueueParams,
  body: NoBody,
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
  summary: "Delete every dead job of a queue, with its attempts",
  scope: "admin",
  params: QueueParams,
  body: NoBody,
  responses: {
    200: {
      description: "How many dead jobs were deleted.",
      schema: z.strictObject({ queue: z.string(), purged: z.number().int() }),
    },
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
  listSwitches,
  setSwitch,
];
