import type { Command } from "commander";
import { backupCommand } from "./commands/backup.js";
import { doctorCommand } from "./commands/doctor.js";
import { eventsCommand } from "./commands/events.js";
import { importCommand } from "./commands/import.js";
import { jobsCommand } from "./commands/jobs.js";
import { queuesCommand } from "./commands/queues.js";
import { schedulesCommand, tenantsCommand } from "./commands/schedules.js";
import { sourcesCommand } from "./commands/sources.js";
import { switchesCommand } from "./commands/switches.js";
import { tokensCommand } from "./commands/tokens.js";

/**
 * Adds the operator commands (`keel queues|jobs|switches|tokens …`) to the `keel` program.
 * They work on the database directly, like `keel migrate`; see docs/cli.md.
 *
 * @example
 * const program = new Command("keel");
 * registerOperatorCommands(program);
 * await program.parseAsync();
 */
export function registerOperatorCommands(program: Command): void {
  for (const command of [queuesCommand(), jobsCommand(), switchesCommand(), tokensCommand()]) {
    program.addCommand(command);
  }
  // Cron schedules and the tenant registry they fan out over.
  program.addCommand(schedulesCommand());
  program.addCommand(tenantsCommand());
  // Webhook intake: events (list, show, replay) and sources.
  program.addCommand(eventsCommand());
  program.addCommand(sourcesCommand());
  // Production readiness: configuration, targets, Postgres, operations.
  program.addCommand(doctorCommand());
  // Cron definitions from Vercel, Render or a crontab as schedules (no database needed).
  program.addCommand(importCommand());
  // Backups with pg_dump, restores, and restore drills (docs/backups.md).
  program.addCommand(backupCommand());
}
