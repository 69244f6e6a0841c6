import type { ScheduleInfo, ScheduleRun } from "@keel/engine";
import {
  deleteSchedule,
  deleteTenant,
  getSchedule,
  listScheduleRuns,
  listSchedules,
  listTenants,
  nextFireTimes,
  pauseSchedule,
  putSchedule,
  putTenant,
  resumeSchedule,
  triggerSchedule,
} from "@keel/protocol/contracts";
import { checkTargetVariables } from "../../delivery/headers.js";
import { ApiError } from "../errors.js";
import { presentTarget } from "../present.js";
import type { RouteDeps } from "./deps.js";

/** Schedules and the tenant registry. */
export function scheduleRoutes({ engine, mount, as, targetVariables }: RouteDeps): void {
  mount(listSchedules)(async () => ({
    status: 200,
    body: { schedules: (await engine.schedules.list()).map(presentSchedule) },
  }));

  mount(getSchedule)(async ({ params }) => ({
    status: 200,
    body: presentSchedule(await engine.schedules.get(params.name)),
  }));

  mount(putSchedule)(async (call) => {
    const { name } = call.params;
    checkTargetVariables(call.body.target, targetVariables, "target");
    const { schedule, created } = await engine.schedules.upsert(name, call.body, as(call));
    return { status: created ? 201 : 200, body: presentSchedule(schedule) };
  });

  mount(deleteSchedule)(async (call) => {
    const { name } = call.params;
    await engine.schedules.delete(name, as(call));
    return { status: 200, body: { name, deleted: true as const } };
  });

  mount(pauseSchedule)(async (call) => {
    const { name } = call.params;
    const reason = call.body?.reason ?? null;
    const schedule = await engine.schedules.pause(name, { ...as(call), reason });
    return { status: 200, body: presentSchedule(schedule) };
  });

  mount(resumeSchedule)(async (call) => {
    const { name } = call.params;
    const backfill = call.body?.backfill;
    const { schedule, backfilled } = await engine.schedules.resume(name, {
      ...as(call),
      ...(backfill ? { backfill } : {}),
    });
    return { status: 200, body: { schedule: presentSchedule(schedule), backfilled } };
  });

  mount(triggerSchedule)(async (call) => {
    const { name } = call.params;
    // With an Idempotency-Key, as(call) carries the request's transaction: the trigger, its
    // audit row and the stored response commit together.
    const { fireTime, jobs } = await engine.schedules.trigger(name, as(call));
    return { status: 201, body: { fireTime: fireTime.toISOString(), jobs } };
  });

  mount(listScheduleRuns)(async ({ params, query }) => {
    const limit = query.limit ?? 50;
    const before = query.before === undefined ? undefined : parseCursor(query.before);
    const runs = await engine.schedules.runs(params.name, { limit, ...(before ? { before } : {}) });
    const last = runs.length === limit ? runs[runs.length - 1] : undefined;
    return {
      status: 200,
      body: {
        runs: runs.map(presentRun),
        nextCursor: last ? `${last.fireTime.toISOString()}|${last.tenant ?? ""}` : null,
      },
    };
  });

  mount(nextFireTimes)(async ({ params, query }) => ({
    status: 200,
    body: {
      fireTimes: (await engine.schedules.nextFireTimes(params.name, query.count ?? 5)).map((d) =>
        d.toISOString(),
      ),
    },
  }));

  mount(listTenants)(async () => ({
    status: 200,
    body: {
      tenants: (await engine.schedules.listTenants()).map((t) => ({
        id: t.id,
        createdAt: t.createdAt.toISOString(),
      })),
    },
  }));

  mount(putTenant)(async (call) => {
    const { id } = call.params;
    const created = (await engine.schedules.addTenants([id], as(call))).length > 0;
    return { status: created ? 201 : 200, body: { id, created } };
  });

  mount(deleteTenant)(async (call) => {
    const { id } = call.params;
    await engine.schedules.removeTenant(id, as(call));
    return { status: 200, body: { id, deleted: true as const } };
  });
}

/** `<fire time ISO>|<tenant>`, as nextCursor writes it. */
function parseCursor(cursor: string): { fireTime: Date; tenant: string } {
  const [time, tenant = ""] = cursor.split("|");
  const fireTime = new Date(time ?? "");
  if (Number.isNaN(fireTime.getTime())) {
    throw new ApiError("invalid_argument", { detail: "before: pass the nextCursor of the previous page" });
  }
  return { fireTime, tenant };
}

export function presentSchedule(s: ScheduleInfo) {
  return {
    name: s.name,
    cron: s.cron,
    timezone: s.timezone,
    target: presentTarget(s.target),
    queue: s.queue,
    payload: s.payload,
    priority: s.priority,
    maxAttempts: s.maxAttempts,
    backoff: s.backoff,
    missed: s.missed,
    backfillSeconds: s.backfillSeconds,
    overlap: s.overlap,
    fanOut: s.fanOut,
    jitterSeconds: s.jitterSeconds,
    flowKey: s.flowKey,
    flowConcurrency: s.flowConcurrency,
    managedBy: s.managedBy,
    paused: s.paused,
    nextFireAt: s.nextFireAt.toISOString(),
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  };
}

function presentRun(r: ScheduleRun) {
  return {
    fireTime: r.fireTime.toISOString(),
    tenant: r.tenant,
    kind: r.kind,
    outcome: r.outcome,
    reason: r.reason,
    lastFireTime: r.lastFireTime?.toISOString() ?? null,
    skippedCount: r.skippedCount,
    jobId: r.jobId,
    jobState: r.jobState,
    decidedAt: r.decidedAt.toISOString(),
  };
}
