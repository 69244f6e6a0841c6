import { isKeelError, normalizeSchedule, QUEUE_NAME, type ScheduleDefinition } from "@keel/engine";
import { z } from "zod/v3";

/**
 * `schedules:` in the config file: name → definition (docs/schedules.md). Each definition is
 * checked as `PUT /v1/schedules/:name` would check it, so a bad cron, time zone or target
 * stops the start with the schedule and field named.
 */
export const schedulesSchema = z
  .record(z.string().regex(QUEUE_NAME, "schedule names use letters, digits and _.:-"), z.unknown())
  .superRefine((schedules, ctx) => {
    for (const [name, definition] of Object.entries(schedules)) {
      try {
        normalizeSchedule(name, definition, { payloadLimitBytes: 1024 * 1024 });
      } catch (err) {
        if (!isKeelError(err)) throw err;
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [name], message: `${err.code}: ${err.message}` });
      }
    }
  })
  .transform((s) => s as Record<string, ScheduleDefinition>);
