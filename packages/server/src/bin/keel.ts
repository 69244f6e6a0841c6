#!/usr/bin/env -S node --max-semi-space-size=8
// The young generation is capped at 8 MiB per semi-space (V8's default grows to 16): an idle
// `keel start` keeps about 17 MiB less resident, at no measured cost (decision 023).
import { Command } from "commander";
import type { Logger } from "pino";
import { exitOnUsageError, unknownCommand } from "../cli/commands/command.js";
import { registerOperatorCommands } from "../cli/index.js";
import { LOG_LEVELS } from "../config/env.js";
import { VERSION } from "../http/app.js";
import { createLogger } from "../log.js";
import { logFatal } from "../runtime/fatal.js";
import { runMigrate } from "../runtime/migrate-command.js";
import { type RunningKeel, startKeel } from "../runtime/start.js";
import { StopRequests } from "../runtime/stop-requests.js";

/** How long a graceful stop may take before the process exits anyway. */
const SHUTDOWN_TIMEOUT_MS = 30_000;

// The level is known before the rest of the config is checked, so config errors get logged too.
const requested = LOG_LEVELS.find((level) => level === process.env.KEEL_LOG_LEVEL);
const logger = createLogger(requested ?? "info");

process.on("uncaughtException", (err) => exitWith(logFatal(logger, err, "uncaught exception")));
process.on("unhandledRejection", (err) => exitWith(logFatal(logger, err, "unhandled rejection")));

// Usage errors exit 2 (an unknown command too), help and --version 0: the exit codes of docs/cli.md.
const program = new Command("keel")
  .description("Keel: durable jobs, cron, webhook intake and rate limits on your Postgres.")
  .version(VERSION)
  .exitOverride(exitOnUsageError);

program
  .command("start")
  .description("Run Keel: migrate, then serve in the given role until SIGTERM or SIGINT.")
  .option("--role <role>", "all, api, worker or scheduler (default: KEEL_ROLE, else all)")
  .option("--port <n>", "HTTP port; 0 picks a free one (default: PORT, else 7070)")
  .action((flags: { role?: string; port?: string }) => start(flags));

program
  .command("migrate")
  .description("Apply pending migrations to KEEL_SCHEMA, then exit.")
  .action(async () => {
    try {
      await runMigrate(logger);
    } catch (err) {
      exitWith(logFatal(logger, err, "migration failed"));
    }
  });

registerOperatorCommands(program);

// `keel <unknown> --help` would print help and exit 0: without the help flags, commander
// reports the unknown command (with a suggestion) and exits 2.
const args = process.argv.slice(2);
const unknown = unknownCommand(program, args);
const HELP = new Set(["--help", "-h", "help"]);
await program.parseAsync(unknown === undefined ? args : args.filter((a) => !HELP.has(a)), { from: "user" });

async function start(flags: { role?: string; port?: string }): Promise<void> {
  let keel: RunningKeel | undefined;
  const stops = new StopRequests();
  let stopping = false;
  const stop = (cause: NodeJS.Signals | "launcher exited") => {
    const action = stops.request(cause);
    if (action === "exit-now") {
      logger.warn({ signal: cause }, "second signal: exiting without waiting");
      exitWith(1);
    }
    if (action === "keep-draining") {
      // npm exec that went away, or the one signal that also ended it, asks for nothing new.
      logger.info(
        { cause },
        cause === "launcher exited"
          ? "the launcher exited; the drain goes on"
          : "signal heard while draining; the drain goes on",
      );
      return;
    }
    stopping = true;
    logger.info({ signal: cause }, "shutdown requested");
    // A signal during start is honoured as soon as start finishes.
    if (keel) void shutdown(keel, logger);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  watchNpmExec(() => stop("launcher exited"));
  try {
    keel = await startKeel({ role: flags.role, port: flags.port, logger });
  } catch (err) {
    exitWith(logFatal(logger, err, "keel could not start"));
    return;
  }
  if (stopping) await shutdown(keel, logger);
}

/**
 * `npx keel start` (npm exec) runs Keel under npm and `sh -c`, and sh passes no signal on: a
 * SIGTERM sent to npx ends the shell and would leave Keel running as an orphan. Keel says so at
 * start, and stops gracefully once the shell that started it is gone (decision 037).
 */
function watchNpmExec(onGone: () => void): void {
  if (process.env.npm_command !== "exec") return;
  logger.warn(
    "started through npx (npm exec): a signal sent to npx does not reach Keel. Where a supervisor stops Keel with SIGTERM (Docker, Render, Railway, systemd), start it with `npm start`, `exec keel start` or `node_modules/.bin/keel start`",
  );
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone();
  }, 250);
  timer.unref();
}

async function shutdown(keel: RunningKeel, log: Logger): Promise<void> {
  const timer = setTimeout(() => {
    log.error({ timeoutMs: SHUTDOWN_TIMEOUT_MS }, "shutdown took too long: exiting");
    exitWith(1);
  }, SHUTDOWN_TIMEOUT_MS);
  timer.unref();
  await keel.stop();
  exitWith(0);
}

function exitWith(code: number): never {
  // The embedded Postgres, if still running, gets its stop signal from an exit hook.
  process.exit(code);
}
