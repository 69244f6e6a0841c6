import type { ScheduleInfo, ScheduleRun } from "@keel/engine";
import { type Command, InvalidArgumentError, Option } from "commander";
import { presentTarget } from "../../api/present.js";
import { table } from "../output.js";
import { type JsonFlag, runOperator } from "../run.js";
import { group, leaf } from "./command.js";

/** `keel schedules list|get|next|runs|pause|resume|trigger|delete`. */
export function schedulesCommand(): Command {
  const schedules = group("schedules", "List, inspect, pause, resume and trigger cron schedules.");

  leaf(schedules, "list", "Every schedule with its next fire time and state.").action((flags: JsonFlag) =>
    runOperator(flags, async ({ engine }, out) => {
      const list = (await engine.schedules.list()).map(shown);
      out.result({ schedules: list }, () =>
        list.length === 0
          ? "No schedules: declare them under schedules: in the config file."
          : scheduleTable(list),
      );
    }),
  );

  leaf(schedules, "get <name>", "One schedule with its definition.").action((name: string, flags: JsonFlag) =>
    runOperator(flags, async ({ engine }, out) => {
      const s = shown(await engine.schedules.get(name));
      out.result(s, () => JSON.stringify(s, null, 2));
    }),
  );

  leaf(schedules, "next <name>", "The next fire times.")
    .option("--count <n>", "how many, 1 to 1000", count, 5)
    .action((name: string, flags: JsonFlag & { count: number }) =>
      runOperator(flags, async ({ engine }, out) => {
        const s = shown(await engine.schedules.get(name));
        const times = await engine.schedules.nextFireTimes(name, flags.count);
        out.result({ schedule: name, fireTimes: times }, () =>
          times.map((t) => `${t.toISOString()}  ${local(t, s.timezone)}`).join("\n"),
        );
      }),
    );

  leaf(schedules, "runs <name>", "Decided slots, newest first, with the state of each job.")
    .option("--limit <n>", "runs per page, 1 to 1000", count, 50)
    .action((name: string, flags: JsonFlag & { limit: number }) =>
      runOperator(flags, async ({ engine }, out) => {
        const runs = await engine.schedules.runs(name, { limit: flags.limit });
        out.result({ runs }, () =>
          runs.length === 0 ? `Schedule ${name} has not fired yet.` : runTable(runs),
        );
      }),
    );

  leaf(schedules, "pause <name>", "Skip the schedule's slots (recorded as skipped) until resumed.")
    .option("--reason <text>", "why, for the audit log and the switch")
    .action((name: string, flags: JsonFlag & { reason?: string }) =>
      runOperator(flags, async (session, out) => {
        const s = await session.engine.schedules.pause(name, { ...session.as, reason: flags.reason ?? null });
        out.result(
          s,
          () => `Paused schedule ${name}: its slots are skipped until \`keel schedules resume ${name}\`.`,
        );
      }),
    );

  leaf(
    schedules,
    "resume <name>",
    "Fire the schedule again; slots skipped while paused run only with --backfill.",
  )
    .addOption(
      new Option("--backfill <which>", "run the latest or all slots skipped while paused").choices([
        "latest",
        "all",
      ]),
    )
    .action((name: string, flags: JsonFlag & { backfill?: "latest" | "all" }) =>
      runOperator(flags, async (session, out) => {
        const { schedule, backfilled } = await session.engine.schedules.resume(name, {
          ...session.as,
          ...(flags.backfill ? { backfill: flags.backfill } : {}),
        });
        out.result(
          { schedule, backfilled },
          () =>
            `Resumed schedule ${name}${backfilled > 0 ? `; ${backfilled} skipped slots enqueued` : ""}. Next: ${schedule.nextFireAt.toISOString()}.`,
        );
      }),
    );

  leaf(schedules, "trigger <name>", "Run the schedule now (one job per tenant with fan-out).").action(
    (name: string, flags: JsonFlag) =>
      runOperator(flags, async (session, out) => {
        const result = await session.engine.schedules.trigger(name, session.as);
        out.result(result, () =>
          result.jobs.map((j) => `Enqueued job ${j.jobId}${j.tenant ? ` for ${j.tenant}` : ""}.`).join("\n"),
        );
      }),
  );

  leaf(
    schedules,
    "delete <name>",
    "Delete a schedule made through the API (config schedules leave with the file).",
  ).action((name: string, flags: JsonFlag) =>
    runOperator(flags, async (session, out) => {
      await session.engine.schedules.delete(name, session.as);
      out.result({ name, deleted: true }, () => `Deleted schedule ${name}.`);
    }),
  );
  return schedules;
}

/** `keel tenants list|add|remove`: the registry `fanOut: { registry: true }` schedules use. */
export function tenantsCommand(): Command {
  const tenants = group("tenants", "The tenant registry that registry fan-out schedules run for.");
  leaf(tenants, "list", "Every tenant in the registry.").action((flags: JsonFlag) =>
    runOperator(flags, async ({ engine }, out) => {
      const list = await engine.schedules.listTenants();
      out.result({ tenants: list }, () =>
        list.length === 0 ? "The registry is empty." : list.map((t) => t.id).join("\n"),
      );
    }),
  );
  leaf(tenants, "add <ids...>", "Add tenants (present ones are left as they are).").action(
    (ids: string[], flags: JsonFlag) =>
      runOperator(flags, async (session, out) => {
        const added = await session.engine.schedules.addTenants(ids, session.as);
        out.result({ added }, () => `Added ${added.length} of ${ids.length} tenants.`);
      }),
  );
  leaf(tenants, "remove <id>", "Remove a tenant from the registry.").action((id: string, flags: JsonFlag) =>
    runOperator(flags, async (session, out) => {
      await session.engine.schedules.removeTenant(id, session.as);
      out.result({ id, removed: true }, () => `Removed tenant ${id}.`);
    }),
  );
  return tenants;
}

function count(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 1000)
    throw new InvalidArgumentError("Use a whole number from 1 to 1000.");
  return n;
}

function local(at: Date, timezone: string): string {
  return `${at.toLocaleString("sv-SE", { timeZone: timezone, timeZoneName: "short" })} (${timezone})`;
}

function scheduleTable(list: ScheduleInfo[]): string {
  return table(list, [
    { header: "NAME", value: (s) => s.name },
    { header: "CRON", value: (s) => s.cron },
    { header: "TIMEZONE", value: (s) => s.timezone },
    { header: "NEXT", value: (s) => s.nextFireAt.toISOString() },
    { header: "STATE", value: (s) => (s.paused ? "paused" : "active") },
    { header: "FROM", value: (s) => s.managedBy },
  ]);
}

function runTable(runs: ScheduleRun[]): string {
  return table(runs, [
    { header: "FIRE TIME", value: (r) => r.fireTime.toISOString() },
    { header: "TENANT", value: (r) => r.tenant ?? "" },
    { header: "KIND", value: (r) => r.kind },
    { header: "OUTCOME", value: (r) => (r.reason ? `${r.outcome}: ${r.reason}` : r.outcome) },
    { header: "JOB", value: (r) => (r.jobId ? `${r.jobId} ${r.jobState ?? "removed"}` : "") },
  ]);
}

/** A schedule as printed: literal credentials in its target (headers, URL) redacted, as in the API. */
function shown(s: ScheduleInfo): ScheduleInfo {
  return { ...s, target: presentTarget(s.target) };
}
