import { randomBytes } from "node:crypto";
import { type HttpTarget, KeelError, type ScheduleDefinition, type ScheduleInfo } from "@keel/engine";
import { presentTarget } from "../api/present.js";
import { headerLists, type IncomingMessage, toEnqueueInput } from "./messages.js";

/**
 * A schedule from `POST /v2/schedules/<url>`: Upstash-Cron (with an optional `CRON_TZ=<zone>`
 * prefix, as QStash reads it) and the message the schedule sends each time. The name is the
 * Upstash-Schedule-Id when given (creating it again replaces it, as in QStash), else a new
 * `scd_…` id.
 *
 * @example
 * toSchedule({ destination: "https://app.example.com/cron", body: "", contentType: undefined,
 *   options: readUpstashHeaders({ "upstash-cron": "CRON_TZ=Europe/London 0 6 * * *" }, "schedule") }, []);
 */
export function toSchedule(
  message: IncomingMessage,
  targetVariables: readonly string[],
): { name: string; definition: ScheduleDefinition } {
  const { options } = message;
  if (!options.cron) {
    throw new KeelError("invalid_argument", {
      detail: "POST /v2/schedules/<url> needs an Upstash-Cron header, e.g. Upstash-Cron: 0 6 * * *.",
    });
  }
  const job = toEnqueueInput({ ...message, queue: options.queueName }, targetVariables);
  const { cron, timezone } = splitCronTz(options.cron);
  const definition: ScheduleDefinition = {
    cron,
    ...(timezone ? { timezone } : {}),
    target: job.target,
    payload: job.payload,
    ...(job.queue ? { queue: job.queue } : {}),
    ...(job.maxAttempts !== undefined ? { maxAttempts: job.maxAttempts } : {}),
  };
  return { name: options.scheduleId ?? `scd_${randomBytes(12).toString("hex")}`, definition };
}

/** `CRON_TZ=America/New_York 0 4 * * *` → the expression and its zone. */
function splitCronTz(text: string): { cron: string; timezone?: string } {
  const m = /^CRON_TZ=(\S+)\s+(.+)$/.exec(text.trim());
  return m ? { cron: (m[2] as string).trim(), timezone: m[1] as string } : { cron: text.trim() };
}

/** True for the schedules the QStash API shows: those whose deliveries are signed the QStash way. */
export function isQStashSchedule(schedule: ScheduleInfo): boolean {
  return "url" in schedule.target && schedule.target.signing === "qstash";
}

/** A schedule as QStash's `Schedule` (what `client.schedules.get` and `list` return). */
export function presentSchedule(schedule: ScheduleInfo): Record<string, unknown> {
  const target = presentTarget(schedule.target) as HttpTarget;
  return {
    scheduleId: schedule.name,
    cron: schedule.timezone === "UTC" ? schedule.cron : `CRON_TZ=${schedule.timezone} ${schedule.cron}`,
    createdAt: schedule.createdAt.getTime(),
    destination: target.url,
    method: target.method ?? "POST",
    header: headerLists(target),
    body: typeof schedule.payload === "string" ? schedule.payload : JSON.stringify(schedule.payload),
    ...(schedule.maxAttempts !== null ? { retries: schedule.maxAttempts - 1 } : {}),
    isPaused: schedule.paused,
    queueName: schedule.queue,
  };
}
