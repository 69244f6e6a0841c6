/**
 * Flow control per key (docs/flow-control.md, decisions 051 and 052): the shapes a queue's
 * `flow` setting and a job's flow options take, defined once for the engine, the API, the SDK
 * and the config file.
 */
import { z } from "zod";
import { isStorableText, MAX_DELAY_MS } from "../names.js";
import { MAX_LIMIT, MAX_WINDOW_SECONDS } from "../ratelimit/policy.js";

const key = z
  .string()
  .min(1)
  .max(255)
  .refine(isStorableText, "contains a NUL character or a broken surrogate pair, which Postgres cannot store");

/**
 * What a queue keys its jobs by: `tenant`, `host` (of an HTTP target's URL), `payload.<field>`
 * (a dotted path, at most 8 fields) or `literal:<text>` (one key for the whole queue).
 */
export const FLOW_KEY_EXPRESSION = /^(tenant|host|payload(\.[A-Za-z0-9_-]{1,64}){1,8}|literal:.{1,200})$/;

export const FlowKeyExpression = z
  .string()
  .regex(
    FLOW_KEY_EXPRESSION,
    "one of tenant, host, payload.<field>[.<field>…] (letters, digits, _ and -) or literal:<text>",
  );

/**
 * At most `limit` starts per `windowSeconds` per key value, with bursts of up to `burst`
 * (default 2, which absorbs the lag of workers' claims; 1 spaces every start). The rate limiter's policy fields and bounds (decision 016), and
 * its GCRA arithmetic, run in the claim statement.
 */
export const FlowRate = z.strictObject({
  limit: z.number().int().min(1).max(MAX_LIMIT),
  windowSeconds: z.number().int().min(1).max(MAX_WINDOW_SECONDS),
  burst: z.number().int().min(1).max(MAX_LIMIT).optional(),
});

/** A queue's flow control: the key expression and what is limited per key value. */
export const FlowSettings = z
  .strictObject({
    key: FlowKeyExpression,
    concurrency: z.number().int().min(1).max(100_000).optional(),
    rate: FlowRate.optional(),
  })
  .meta({
    description: "Flow control per key value: running jobs and starts per key (docs/flow-control.md).",
  });

/** At most one job per key value queued or running; `drop` returns the existing job, `queue` keeps one to run next. */
export const Singleton = z.strictObject({
  key,
  mode: z.enum(["drop", "queue"]).optional(),
});

/** Trailing debounce: the job replaces the pending one with the key and runs after `quietMs` of quiet, or at `maxWaitMs` after the first. */
export const Debounce = z.strictObject({
  key,
  quietMs: z.number().int().min(1).max(MAX_DELAY_MS),
  maxWaitMs: z.number().int().min(1).max(MAX_DELAY_MS).optional(),
});

/** The flow options of one job, shared by the engine's enqueue and the API's job input. */
export const flowJobFields = {
  flowKey: key
    .optional()
    .meta({ description: "The job's flow key value; wins over the queue's key expression." }),
  flowConcurrency: z
    .number()
    .int()
    .min(1)
    .max(100_000)
    .optional()
    .meta({ description: "Most running jobs with this job's flow key; wins over the queue's." }),
  singleton: Singleton.optional(),
  debounce: Debounce.optional(),
};

export type FlowSettingsInput = z.input<typeof FlowSettings>;
