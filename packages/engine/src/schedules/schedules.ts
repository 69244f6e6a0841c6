import { canonicalJson } from "@keel/protocol/json";
import { auditChange } from "../audit/actions.js";
import type { Client, MutationOptions } from "../db/mutation.js";
import type { Engine } from "../engine.js";
import { KeelError } from "../errors.js";
import type { JobTarget } from "../queue/types.js";
import { CronSchedule } from "./cron.js";
import { jobRow, type RunToWrite, type ScheduleRow, tenantsOf, writeRuns } from "./fire.js";
import type { ScheduleInfo, ScheduleRun, SyncResult } from "./types.js";
import { type NormalizedSchedule, normalizeSchedule, validateTenant } from "./validate.js";

// Serialises config syncs of replicas starting at once (any constant unique to schedules).
const SYNC_LOCK = 0x4b65656c5343;

/**
 * Cron schedules: define, inspect, pause, trigger. The scheduler (`createScheduler`) fires them.
 *
 * @example
 * await engine.schedules.upsert("nightly-report", { cron: "0 2 * * *", timezone: "Europe/London",
 *   target: { url: "https://app.example.com/cron/report" } });
 */
export class Schedules {
  constructor(private readonly engine: Engine) {}

  /**
   * Creates or replaces a schedule made through the API. Refused for schedules the config file
   * declares. Returns the schedule and whether anything changed. A changed cron or time zone
   * moves the cursor to the next slot from now; other changes keep it. A change writes its
   * `schedule.create` or `schedule.update` audit row in its transaction (the caller's with `client`).
   */
  async upsert(
    name: string,
    definition: unknown,
    options: MutationOptions = {},
  ): Promise<{ schedule: ScheduleInfo; changed: boolean; created: boolean }> {
    const normalized = normalizeSchedule(name, definition, {
      payloadLimitBytes: this.engine.payloadLimitBytes,
    });
    if (!options.client) await this.engine.ensureQueues([normalized.queue]);
    return this.engine.transaction(async (client) => {
      if (options.client) await this.engine.ensureQueues([normalized.queue], client);
      const [current] = await this.engine.runOn<ScheduleRow>(client, "schedule_lock", [name]);
      if (current?.managed_by === "config") throw new KeelError("schedule_managed_by_config", { name });
      const out = await this.write(client, name, normalized, "api", current);
      if (out.changed) await this.auditWrite(client, options, name, out);
      return out;
    }, options);
  }

  private async auditWrite(
    client: Client,
    options: MutationOptions,
    name: string,
    out: { schedule: ScheduleInfo; created: boolean },
  ): Promise<void> {
    const { cron, timezone } = out.schedule;
    const action = out.created ? "schedule.create" : "schedule.update";
    await this.engine.writeAudit(
      client,
      options,
      auditChange(action, `schedule:${name}`, { cron, timezone }),
    );
  }

  /**
   * Makes the schedules of the config file exactly `definitions`: creates and updates them,
   * removes config schedules no longer listed, leaves API schedules alone (one listed in the
   * file becomes the file's). A sync that finds everything as declared writes nothing; each
   * change writes its audit row (`schedule.create|update|delete`) in the sync's transaction, as
   * `options.by` (`keel start` passes `config:<file name>`).
   */
  async sync(definitions: Record<string, unknown>, options: MutationOptions = {}): Promise<SyncResult> {
    const normalized = Object.entries(definitions).map(
      ([name, d]) =>
        [name, normalizeSchedule(name, d, { payloadLimitBytes: this.engine.payloadLimitBytes })] as const,
    );
    const queues = [...new Set(normalized.map(([, n]) => n.queue))];
    if (!options.client) await this.engine.ensureQueues(queues);
    return this.engine.transaction(async (client) => {
      if (options.client) await this.engine.ensureQueues(queues, client);
      await client.query("select pg_advisory_xact_lock($1)", [SYNC_LOCK]);
      const result: SyncResult = { created: [], updated: [], removed: [], unchanged: [] };
      const existing = new Map(
        (await this.engine.runOn<ScheduleRow>(client, "schedule_list", [])).map((r) => [r.name, r]),
      );
      for (const [name, n] of normalized) {
        const current = existing.get(name);
        const out = await this.write(client, name, n, "config", current);
        if (out.changed) await this.auditWrite(client, options, name, out);
        (out.created ? result.created : out.changed ? result.updated : result.unchanged).push(name);
      }
      const listed = new Set(normalized.map(([name]) => name));
      for (const row of existing.values()) {
        if (row.managed_by === "config" && !listed.has(row.name)) {
          await this.engine.runOn(client, "schedule_delete", [row.name]);
          await this.engine.writeAudit(client, options, {
            action: "schedule.delete",
            target: `schedule:${row.name}`,
            details: null,
          });
          result.removed.push(row.name);
        }
      }
      return result;
    }, options);
  }

  private async write(
    client: Client,
    name: string,
    n: NormalizedSchedule,
    managedBy: "config" | "api",
    current: ScheduleRow | undefined,
  ): Promise<{ schedule: ScheduleInfo; changed: boolean; created: boolean }> {
    if (
      current &&
      current.managed_by === managedBy &&
      canonicalJson(toNormalized(current)) === canonicalJson(n)
    ) {
      return { schedule: await this.info(current, client), changed: false, created: false };
    }
    const timingChanged = !current || current.cron !== n.cron || current.timezone !== n.timezone;
    const [now] = await this.engine.runOn<{ now: Date }>(client, "schedule_clock", []);
    const cron = new CronSchedule(n.cron, n.timezone);
    const nextFireAt = timingChanged
      ? (cron.next((now as { now: Date }).now) as Date)
      : (current as ScheduleRow).next_fire_at;
    const [row] = await this.engine.runOn<ScheduleRow>(client, "schedule_upsert", [
      name,
      n.cron,
      n.timezone,
      n.queue,
      JSON.stringify(n.target),
      JSON.stringify(n.payload),
      JSON.stringify(n.jobOptions),
      n.missed,
      n.backfillSeconds,
      n.overlap,
      n.fanOut === null ? null : JSON.stringify(n.fanOut),
      n.jitterSeconds,
      managedBy,
      nextFireAt,
    ]);
    return { schedule: await this.info(row as ScheduleRow, client), changed: true, created: !current };
  }

  async get(name: string): Promise<ScheduleInfo> {
    const [row] = await this.engine.run<ScheduleRow>("schedule_get", [name]);
    if (!row) throw new KeelError("schedule_not_found", { name });
    return this.info(row);
  }

  async list(): Promise<ScheduleInfo[]> {
    const rows = await this.engine.run<ScheduleRow>("schedule_list", []);
    const paused = await this.engine.switches.disabled(rows.map((r) => `scheduling:${r.name}`));
    return rows.map((r) => toInfo(r, paused.has(`scheduling:${r.name}`)));
  }

  /**
   * Deletes a schedule made through the API (config schedules leave with the file), with its
   * `schedule.delete` audit row in the same transaction.
   */
  async delete(name: string, options: MutationOptions = {}): Promise<void> {
    await this.engine.transaction(async (client) => {
      const current = await this.locked(client, name);
      if (current.managed_by === "config") throw new KeelError("schedule_managed_by_config", { name });
      await this.engine.runOn(client, "schedule_delete", [name]);
      await this.engine.writeAudit(client, options, {
        action: "schedule.delete",
        target: `schedule:${name}`,
        details: null,
      });
    }, options);
  }

  /**
   * Pauses: slots are recorded as skipped until `resume`. Sets the `scheduling:<name>` switch and
   * writes one `schedule.pause` audit row, in one transaction. `actor` is the older name of `by`.
   */
  async pause(
    name: string,
    options: MutationOptions & { reason?: string | null; actor?: string } = {},
  ): Promise<ScheduleInfo> {
    const by = options.by ?? options.actor ?? this.engine.actor;
    const reason = options.reason ?? null;
    return this.engine.transaction(async (client) => {
      const row = await this.locked(client, name);
      await this.engine.runOn(client, "set_switch", [`scheduling:${name}`, false, by, reason]);
      await this.engine.writeAudit(
        client,
        { ...options, by },
        auditChange("schedule.pause", `schedule:${name}`, { reason }),
      );
      return this.info(row, client);
    }, options);
  }

  /**
   * Resumes. Slots skipped while paused are not run, unless `backfill` asks: `latest` runs the
   * most recent of them, `all` every one (within the schedule's backfill window). The backfilled
   * jobs, the switch and the `schedule.resume` audit row commit together.
   */
  async resume(
    name: string,
    options: MutationOptions & { backfill?: "latest" | "all"; actor?: string } = {},
  ): Promise<{ schedule: ScheduleInfo; backfilled: number }> {
    const by = options.by ?? options.actor ?? this.engine.actor;
    const backfill = options.backfill ?? null;
    return this.engine.transaction(async (client) => {
      const row = await this.locked(client, name);
      const paused = await this.pausedOn(client, [name]);
      let backfilled = 0;
      if (backfill && paused.has(name)) backfilled = await this.backfill(client, row, backfill);
      await this.engine.runOn(client, "set_switch", [`scheduling:${name}`, true, by, null]);
      await this.engine.writeAudit(
        client,
        { ...options, by },
        auditChange("schedule.resume", `schedule:${name}`, { backfill, backfilled }),
      );
      return { schedule: await this.info(row, client), backfilled };
    }, options);
  }

  /** Enqueues the slots skipped while paused (the latest, or all) within the backfill window. */
  private async backfill(client: Client, row: ScheduleRow, which: "latest" | "all"): Promise<number> {
    const name = row.name;
    const [clock] = await this.engine.runOn<{ now: Date }>(client, "schedule_clock", []);
    const windowStart = new Date((clock as { now: Date }).now.getTime() - row.backfill_seconds * 1000);
    let slots = await this.engine.runOn<{ fire_time: Date; tenant: string }>(client, "schedule_paused_runs", [
      name,
      windowStart,
    ]);
    if (which === "latest" && slots.length > 0) {
      const last = (slots[slots.length - 1] as { fire_time: Date }).fire_time.getTime();
      slots = slots.filter((s) => s.fire_time.getTime() === last);
    }
    const writes: RunToWrite[] = slots.map((s) => ({
      schedule: name,
      fireTime: s.fire_time,
      tenant: s.tenant,
      kind: "backfill",
      outcome: "enqueued",
      reason: null,
      lastFireTime: null,
      skippedCount: null,
      existing: true,
      job: jobRow(this.engine, row, s.fire_time, s.tenant, "backfill"),
    }));
    await writeRuns(this.engine, client, writes);
    return writes.length;
  }

  /**
   * Runs the schedule now, once per tenant with fan-out, whatever its pause, switch and overlap
   * state (an operator asked). The fire time is the trigger's time. The jobs, the slot and the
   * `schedule.trigger` audit row commit together (in the caller's transaction with `client`).
   */
  async trigger(
    name: string,
    options: MutationOptions = {},
  ): Promise<{ fireTime: Date; jobs: { tenant: string | null; jobId: string }[] }> {
    return this.engine.transaction(async (client) => {
      const row = await this.locked(client, name);
      const [clock] = await this.engine.runOn<{ now: Date }>(client, "schedule_clock", []);
      const fireTime = (clock as { now: Date }).now;
      const registry = (await this.engine.runOn<{ id: string }>(client, "tenant_list", [])).map((t) => t.id);
      const writes: RunToWrite[] = tenantsOf(row, registry).map((tenant) => ({
        schedule: name,
        fireTime,
        tenant,
        kind: "manual",
        outcome: "enqueued",
        reason: null,
        lastFireTime: null,
        skippedCount: null,
        job: jobRow(this.engine, row, fireTime, tenant, "manual"),
      }));
      await writeRuns(this.engine, client, writes);
      const runs = await this.engine.runOn<{ tenant: string; job_id: string | null; fire_time: Date }>(
        client,
        "schedule_runs_at",
        [name, fireTime],
      );
      const jobs = runs
        .filter((r) => r.job_id !== null)
        .map((r) => ({ tenant: r.tenant === "" ? null : r.tenant, jobId: r.job_id as string }));
      await this.engine.writeAudit(
        client,
        options,
        auditChange("schedule.trigger", `schedule:${name}`, { jobs: jobs.map((j) => j.jobId) }),
      );
      return { fireTime, jobs };
    }, options);
  }

  /** Decided slots, newest first; pass the last run's `fireTime` and `tenant` as `before` for the next page. */
  async runs(
    name: string,
    page: { before?: { fireTime: Date | string; tenant?: string | null }; limit?: number } = {},
  ): Promise<ScheduleRun[]> {
    const limit = page.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new KeelError("invalid_argument", { detail: "limit: a whole number from 1 to 1000" });
    }
    await this.get(name);
    const rows = await this.engine.run<RunRow>("schedule_runs_list", [
      name,
      page.before ? new Date(page.before.fireTime) : null,
      page.before?.tenant ?? "",
      limit,
    ]);
    return rows.map(toRun);
  }

  /** The next `count` slots after `from` (default now). */
  async nextFireTimes(name: string, count = 5, from: Date = new Date()): Promise<Date[]> {
    if (!Number.isInteger(count) || count < 1 || count > 1000) {
      throw new KeelError("invalid_argument", { detail: "count: a whole number from 1 to 1000" });
    }
    const s = await this.get(name);
    return new CronSchedule(s.cron, s.timezone).nextN(from, count);
  }

  /** The tenant registry that `fanOut: { registry: true }` schedules fan out over. */
  async listTenants(): Promise<{ id: string; createdAt: Date }[]> {
    return (await this.engine.run<{ id: string; created_at: Date }>("tenant_list", [])).map((t) => ({
      id: t.id,
      createdAt: t.created_at,
    }));
  }

  /** Adds tenants; returns those that were new, each with its `tenant.add` audit row in the same transaction. */
  async addTenants(ids: string[], options: MutationOptions = {}): Promise<string[]> {
    for (const id of ids) validateTenant(id);
    return this.engine.transaction(async (client) => {
      const added = (await this.engine.runOn<{ id: string }>(client, "tenant_add", [ids])).map((t) => t.id);
      for (const id of added) {
        await this.engine.writeAudit(client, options, { action: "tenant.add", target: `tenant:${id}` });
      }
      return added;
    }, options);
  }

  /** Removes a tenant, with its `tenant.remove` audit row in the same transaction. */
  async removeTenant(id: string, options: MutationOptions = {}): Promise<void> {
    validateTenant(id);
    await this.engine.transaction(async (client) => {
      const gone = await this.engine.runOn(client, "tenant_remove", [id]);
      if (gone.length === 0) throw new KeelError("tenant_not_found", { tenant: id });
      await this.engine.writeAudit(client, options, { action: "tenant.remove", target: `tenant:${id}` });
    }, options);
  }

  /** The schedule, locked until the transaction ends; throws `schedule_not_found`. */
  private async locked(client: Client, name: string): Promise<ScheduleRow> {
    const [row] = await this.engine.runOn<ScheduleRow>(client, "schedule_lock", [name]);
    if (!row) throw new KeelError("schedule_not_found", { name });
    return row;
  }

  /** Which of the schedules are paused, as `client` sees the switches. */
  private async pausedOn(client: Client, names: string[]): Promise<Set<string>> {
    const off = await this.engine.runOn<{ name: string }>(client, "disabled_switches", [
      names.map((n) => `scheduling:${n}`),
    ]);
    return new Set(off.map((r) => r.name.slice("scheduling:".length)));
  }

  private async info(row: ScheduleRow, client?: Client): Promise<ScheduleInfo> {
    if (client) return toInfo(row, (await this.pausedOn(client, [row.name])).has(row.name));
    return toInfo(row, !(await this.engine.switches.isEnabled(`scheduling:${row.name}`)));
  }
}

function toNormalized(r: ScheduleRow): NormalizedSchedule {
  return {
    cron: r.cron,
    timezone: r.timezone,
    queue: r.queue,
    target: r.target,
    payload: r.payload,
    jobOptions: r.job_options ?? {},
    missed: r.missed,
    backfillSeconds: r.backfill_seconds,
    overlap: r.overlap,
    fanOut: r.fan_out,
    jitterSeconds: r.jitter_seconds,
  };
}

function toInfo(r: ScheduleRow, paused: boolean): ScheduleInfo {
  return {
    name: r.name,
    cron: r.cron,
    timezone: r.timezone,
    queue: r.queue,
    target: r.target as JobTarget,
    payload: r.payload,
    priority: r.job_options?.priority ?? null,
    maxAttempts: r.job_options?.maxAttempts ?? null,
    backoff: r.job_options?.backoff ?? null,
    flowKey: r.job_options?.flowKey ?? null,
    flowConcurrency: r.job_options?.flowConcurrency ?? null,
    missed: r.missed,
    backfillSeconds: r.backfill_seconds,
    overlap: r.overlap,
    fanOut: r.fan_out,
    jitterSeconds: r.jitter_seconds,
    managedBy: r.managed_by,
    paused,
    nextFireAt: r.next_fire_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

interface RunRow {
  schedule: string;
  fire_time: Date;
  tenant: string;
  kind: ScheduleRun["kind"];
  outcome: ScheduleRun["outcome"];
  reason: ScheduleRun["reason"];
  last_fire_time: Date | null;
  skipped_count: number | null;
  job_id: string | null;
  decided_at: Date;
  job_state: string | null;
}

function toRun(r: RunRow): ScheduleRun {
  return {
    schedule: r.schedule,
    fireTime: r.fire_time,
    tenant: r.tenant === "" ? null : r.tenant,
    kind: r.kind,
    outcome: r.outcome,
    reason: r.reason,
    lastFireTime: r.last_fire_time,
    skippedCount: r.skipped_count,
    jobId: r.job_id,
    jobState: r.job_state,
    decidedAt: r.decided_at,
  };
}
