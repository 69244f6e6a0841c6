import { scheduleOptionFields } from "@keel/protocol/contracts";
import { QUEUE_NAME, TENANT_ID } from "@keel/protocol/names";
import { z } from "zod";
import { KeelError } from "../errors.js";
import type { Backoff, EnqueueInput, JobTarget } from "../queue/types.js";
import { validateEnqueue } from "../queue/validate.js";
import { CronSchedule } from "./cron.js";
import type { FanOut, MissedPolicy, OverlapPolicy } from "./types.js";

export { TENANT_ID };

/** What a schedule stores of its jobs' options (`schedules.job_options`). */
export interface ScheduleJobOptions {
  priority?: number;
  maxAttempts?: number;
  backoff?: Backoff;
  /** `{{tenant}}` is filled per fan-out job. */
  flowKey?: string;
  flowConcurrency?: number;
}

const PLACEHOLDER = /\{\{\s*([^}]*?)\s*\}\}/g;

export function validateTenant(tenant: string): void {
  if (typeof tenant !== "string" || !TENANT_ID.test(tenant)) {
    throw new KeelError("invalid_tenant", { tenant: String(tenant).slice(0, 200) });
  }
}

/**
 * A definition's shape: the API's schedule options (one definition, @keel/protocol/contracts);
 * the cron expression, time zone, placeholders and the job a slot makes are checked after it.
 */
const definitionSchema = z.strictObject({
  cron: z.string({ error: (issue) => (issue.input === undefined ? "required" : "a cron expression string") }),
  timezone: z.string().optional(),
  target: z.unknown().optional(),
  queue: scheduleOptionFields.queue,
  payload: z.unknown().optional(),
  priority: scheduleOptionFields.priority,
  maxAttempts: scheduleOptionFields.maxAttempts,
  backoff: scheduleOptionFields.backoff,
  missed: scheduleOptionFields.missed,
  backfillSeconds: scheduleOptionFields.backfillSeconds,
  overlap: scheduleOptionFields.overlap,
  fanOut: scheduleOptionFields.fanOut,
  jitterSeconds: scheduleOptionFields.jitterSeconds,
  flowKey: scheduleOptionFields.flowKey,
  flowConcurrency: scheduleOptionFields.flowConcurrency,
});

/** A definition with every default applied: what is stored and compared on sync. */
export interface NormalizedSchedule {
  cron: string;
  timezone: string;
  queue: string;
  target: JobTarget;
  payload: unknown;
  jobOptions: ScheduleJobOptions;
  missed: MissedPolicy;
  backfillSeconds: number;
  overlap: OverlapPolicy;
  fanOut: FanOut | null;
  jitterSeconds: number;
}

/**
 * Validates a schedule definition; throws a KeelError naming the field (`invalid_cron`,
 * `invalid_timezone`, `invalid_target`, `invalid_schedule`, `unknown_option`).
 */
export function normalizeSchedule(
  name: string,
  definition: unknown,
  options: { payloadLimitBytes: number },
): NormalizedSchedule {
  if (typeof name !== "string" || !QUEUE_NAME.test(name)) {
    throw new KeelError("invalid_schedule", {
      name: String(name).slice(0, 100),
      detail: "name: use 1–100 letters, digits and _.:- starting with a letter or digit",
    });
  }
  if (definition === null || typeof definition !== "object" || Array.isArray(definition)) {
    throw new KeelError("invalid_schedule", {
      name,
      detail: "the definition must be an object with cron and target",
    });
  }
  const parsed = definitionSchema.safeParse(definition);
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue;
    if (issue.code === "unrecognized_keys") {
      throw new KeelError("unknown_option", {
        option: [...issue.path, issue.keys[0]].join("."),
        accepted:
          issue.path.length === 0 ? Object.keys(definitionSchema.shape).join(", ") : "see docs/schedules.md",
      });
    }
    throw new KeelError("invalid_schedule", {
      name,
      detail: `${issue.path.join(".") || "definition"}: ${issue.message}`,
    });
  }
  const d = parsed.data;
  if (d.target === null || typeof d.target !== "object" || Array.isArray(d.target)) {
    throw new KeelError("invalid_target", {
      detail: "target: required, {handler} or {url, method?, headers?}",
    });
  }
  const timezone = d.timezone ?? "UTC";
  new CronSchedule(d.cron, timezone);
  const fanOut = (d.fanOut ?? null) as FanOut | null;
  checkPlaceholders(name, d.target, fanOut !== null, d.flowKey);
  const jobOptions = {
    ...(d.priority === undefined ? {} : { priority: d.priority }),
    ...(d.maxAttempts === undefined ? {} : { maxAttempts: d.maxAttempts }),
    ...(d.backoff === undefined ? {} : { backoff: d.backoff as Backoff }),
    ...(d.flowKey === undefined ? {} : { flowKey: d.flowKey }),
    ...(d.flowConcurrency === undefined ? {} : { flowConcurrency: d.flowConcurrency }),
  };
  const queue = d.queue ?? "default";
  // The job every slot makes must be one the queue accepts: check it as an enqueue would.
  const sample = jobInput(
    { queue, target: d.target as JobTarget, payload: d.payload ?? null, jobOptions },
    fanOut ? "tenant" : null,
  );
  validateEnqueue(sample, 0, options);
  return {
    cron: d.cron,
    timezone,
    queue,
    target: d.target as JobTarget,
    payload: d.payload ?? null,
    jobOptions,
    missed: d.missed ?? "latest",
    backfillSeconds: d.backfillSeconds ?? 86_400,
    overlap: d.overlap ?? "allow",
    fanOut,
    jitterSeconds: d.jitterSeconds ?? 0,
  };
}

/** `{{tenant}}` is the one placeholder, and only schedules that fan out have a tenant. */
function checkPlaceholders(name: string, target: unknown, fansOut: boolean, flowKey?: string): void {
  const texts: [string, string][] = flowKey === undefined ? [] : [["flowKey", flowKey]];
  if (target && typeof target === "object") {
    const t = target as { url?: unknown; headers?: unknown };
    if (typeof t.url === "string") texts.push(["target.url", t.url]);
    if (t.headers && typeof t.headers === "object") {
      for (const [k, v] of Object.entries(t.headers))
        if (typeof v === "string") texts.push([`target.headers.${k}`, v]);
    }
  }
  for (const [field, text] of texts) {
    for (const m of text.matchAll(PLACEHOLDER)) {
      if (m[1] !== "tenant") {
        throw new KeelError("invalid_schedule", {
          name,
          detail: `${field}: unknown placeholder ${m[0]}; the only one is {{tenant}} (use \${VAR} for environment variables)`,
        });
      }
      if (!fansOut) {
        throw new KeelError("invalid_schedule", {
          name,
          detail: `${field}: uses {{tenant}} but the schedule has no fanOut; add fanOut: { tenants: [...] } or { registry: true }`,
        });
      }
    }
  }
}

/** The enqueue input of one job of a schedule, with `{{tenant}}` filled in. */
export function jobInput(
  s: Pick<NormalizedSchedule, "queue" | "target" | "payload" | "jobOptions">,
  tenant: string | null,
): EnqueueInput {
  const fill = (text: string) => (tenant === null ? text : text.replace(PLACEHOLDER, tenant));
  let target: JobTarget = s.target;
  if ("url" in target) {
    target = {
      ...target,
      url: fill(target.url),
      ...(target.headers
        ? { headers: Object.fromEntries(Object.entries(target.headers).map(([k, v]) => [k, fill(v)])) }
        : {}),
    };
  }
  const { flowKey, ...options } = s.jobOptions;
  return {
    queue: s.queue,
    target,
    payload: s.payload,
    ...options,
    ...(flowKey === undefined ? {} : { flowKey: fill(flowKey) }),
    ...(tenant === null ? {} : { tenant }),
  };
}
