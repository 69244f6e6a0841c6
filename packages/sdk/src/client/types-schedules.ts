import type * as C from "@keel/protocol/contracts";
import type { Output, Query, RequestBody, ResponseBody } from "@keel/protocol/contracts";

// The shapes of /v1/schedules and /v1/tenants, derived from the protocol's contracts like types.ts.

/**
 * `PUT /v1/schedules/:name`: the whole definition. `{{tenant}}` in the target's URL and headers
 * is filled per fan-out job; `timezone` is an IANA zone (default UTC).
 */
export type ScheduleInput = RequestBody<typeof C.putSchedule>;
/** One job per tenant per slot: a fixed list, or every tenant in the registry. */
export type FanOut = NonNullable<ScheduleInput["fanOut"]>;

/** `managedBy: "config"` schedules are changed in the config file. */
export type Schedule = Output<typeof C.Schedule>;
/** One decided slot of a schedule. */
export type ScheduleRun = Output<typeof C.ScheduleRun>;
export type ScheduleRunPage = ResponseBody<typeof C.listScheduleRuns, 200>;
/** `before`: the previous page's `nextCursor`. */
export type ListScheduleRunsQuery = Query<typeof C.listScheduleRuns>;
/** `backfill`: run the latest slot skipped by the pause, or all of them (within backfillSeconds). */
export type ResumeScheduleInput = NonNullable<RequestBody<typeof C.resumeSchedule>>;
export type ScheduleTriggered = ResponseBody<typeof C.triggerSchedule, 201>;
export type Tenant = ResponseBody<typeof C.listTenants, 200>["tenants"][number];
