import { type Call, pages } from "./call.js";
import type { CallOptions, CreateOptions } from "./transport.js";
import type {
  ListScheduleRunsQuery,
  ResumeScheduleInput,
  Schedule,
  ScheduleInput,
  ScheduleRun,
  ScheduleRunPage,
  ScheduleTriggered,
  Tenant,
} from "./types-schedules.js";

/** `/v1/schedules`: cron schedules, their runs and manual triggers. */
export class SchedulesApi {
  constructor(private readonly call: Call) {}

  /** Every schedule with its next fire time. */
  async list(options: CallOptions = {}): Promise<Schedule[]> {
    return (await this.call<{ schedules: Schedule[] }>("listSchedules", options)).schedules;
  }

  get(name: string, options: CallOptions = {}): Promise<Schedule> {
    return this.call("getSchedule", { params: { name }, ...options });
  }

  /**
   * Creates or replaces a schedule made through the API (config-file schedules answer 409).
   *
   * @example
   * await keel.schedules.put("nightly-report", { cron: "0 2 * * *", timezone: "Europe/London", target: { url: "https://app.example.com/cron/report" } });
   */
  put(name: string, schedule: ScheduleInput, options: CallOptions = {}): Promise<Schedule> {
    return this.call("putSchedule", { params: { name }, body: schedule, ...options });
  }

  delete(name: string, options: CallOptions = {}): Promise<{ name: string; deleted: true }> {
    return this.call("deleteSchedule", { params: { name }, ...options });
  }

  /** Slots are recorded as skipped until resumed. */
  pause(name: string, input: { reason?: string } = {}, options: CallOptions = {}): Promise<Schedule> {
    return this.call("pauseSchedule", { params: { name }, body: input, ...options });
  }

  resume(
    name: string,
    input: ResumeScheduleInput = {},
    options: CallOptions = {},
  ): Promise<{ schedule: Schedule; backfilled: number }> {
    return this.call("resumeSchedule", { params: { name }, body: input, ...options });
  }

  /** Runs it now (one job per tenant with fan-out); keyed, so a retry never runs it twice. */
  trigger(name: string, options: CreateOptions = {}): Promise<ScheduleTriggered> {
    return this.call("triggerSchedule", { params: { name }, ...options });
  }

  /** Decided slots, newest first, one page. */
  runs(name: string, query: ListScheduleRunsQuery = {}, options: CallOptions = {}): Promise<ScheduleRunPage> {
    return this.call("listScheduleRuns", { params: { name }, query: { ...query }, ...options });
  }

  iterateRuns(
    name: string,
    query: Omit<ListScheduleRunsQuery, "before"> = {},
    options: CallOptions = {},
  ): AsyncGenerator<ScheduleRun> {
    return pages(
      (before) => this.runs(name, { ...query, before }, options),
      (page) => page.runs,
    );
  }

  /** The next `count` (default 5) fire times, ISO 8601 UTC. */
  async next(name: string, count?: number, options: CallOptions = {}): Promise<string[]> {
    const out = await this.call<{ fireTimes: string[] }>("nextFireTimes", {
      params: { name },
      query: { count },
      ...options,
    });
    return out.fireTimes;
  }
}

/** `/v1/tenants`: the registry `fanOut: { registry: true }` schedules fan out over. */
export class TenantsApi {
  constructor(private readonly call: Call) {}

  async list(options: CallOptions = {}): Promise<Tenant[]> {
    return (await this.call<{ tenants: Tenant[] }>("listTenants", options)).tenants;
  }

  /** Adds a tenant; `created` is false when it was there already. */
  put(id: string, options: CallOptions = {}): Promise<{ id: string; created: boolean }> {
    return this.call("putTenant", { params: { id }, ...options });
  }

  delete(id: string, options: CallOptions = {}): Promise<{ id: string; deleted: true }> {
    return this.call("deleteTenant", { params: { id }, ...options });
  }
}
