import { isKeelError, normalizeSchedule, type ScheduleDefinition } from "@keel/engine";
import { DEFAULT_PAYLOAD_LIMIT_BYTES, SCHEDULE_NAME } from "@keel/protocol/names";
import { z } from "zod/v3";

/**
 * `schedules:` in the config file: name → definition (docs/schedules.md). Each definition is
 * checked as `PUT /v1/schedules/:name` would check it, so a bad cron, time zone or target
 * stops the start with the schedule and field named.
 */
export const schedulesSchema = z
  .record(z.string().regex(SCHEDULE_NAME, "schedule names use letters, digits and _.:-"), z.unknown())
  .superRefine((schedules, ctx) => {
    for (const [name, definition] of Object.entries(schedules)) {
      try {
        normalizeSchedule(name, definition, { payloadLimitBytes: DEFAULT_PAYLOAD_LIMIT_BYTES });
      } catch (err) {
        if (!isKeelError(err)) throw err;
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [name], message: `${err.code}: ${err.message}` });
      }
    }
  })
  .transform((s) => s as Record<string, ScheduleDefinition>);
