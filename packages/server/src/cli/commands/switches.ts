import type { Switch } from "@keel/engine";
import { Argument, type Command } from "commander";
import { clean, table, time } from "../output.js";
import { type JsonFlag, runOperator } from "../run.js";
import { group, leaf } from "./command.js";

/** `keel switches list|set`. */
export function switchesCommand(): Command {
  const switches = group(
    "switches",
    "Kill switches: scheduling, scheduling:<schedule>, enqueue:<queue>, process:<queue>.",
  );

  leaf(switches, "list", "Every switch that has been set; a switch never set is on.").action(
    (flags: JsonFlag) =>
      runOperator(flags, async ({ engine }, out) => {
        const list = await engine.switches.list();
        out.result({ switches: list }, () =>
          list.length === 0 ? "No switch has been set: everything is on." : switchTable(list),
        );
      }),
  );

  leaf(switches, "set <name>", "Turn a switch on or off; every replica follows within a second.")
    .addArgument(new Argument("<state>", "on or off").choices(["on", "off"]))
    .option("--reason <text>", "why, recorded with the switch and in the audit log")
    .action((name: string, state: "on" | "off", flags: JsonFlag & { reason?: string }) =>
      runOperator(flags, async (session, out) => {
        const enabled = state === "on";
        const reason = flags.reason ?? null;
        const changed = await session.engine.switches.set(name, enabled, { ...session.as, reason });
        out.result(
          changed,
          () => `Switch ${changed.name} is ${state}${reason ? ` (${clean(reason)})` : ""}.`,
        );
      }),
    );

  return switches;
}

function switchTable(list: Switch[]): string {
  return table(list, [
    { header: "NAME", value: (s) => s.name },
    { header: "STATE", value: (s) => (s.enabled ? "on" : "off") },
    { header: "UPDATED", value: (s) => time(s.updatedAt) },
    { header: "BY", value: (s) => s.updatedBy, max: 40 },
    { header: "REASON", value: (s) => s.reason, max: 60 },
  ]);
}
