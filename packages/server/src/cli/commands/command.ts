import { Command, type CommanderError } from "commander";
import { EXIT } from "../exit-codes.js";

/**
 * A command group (`keel queues`). Usage errors in it and its subcommands (a missing argument,
 * an unknown option, a value outside the choices) exit 2; `--help` exits 0.
 */
export function group(name: string, description: string): Command {
  return new Command(name).description(description).exitOverride(exitOnUsageError);
}

/** A subcommand of `parent` that takes `--json`. */
export function leaf(parent: Command, nameAndArgs: string, description: string): Command {
  return parent
    .command(nameAndArgs)
    .description(description)
    .option("--json", "print the result as JSON (errors as JSON on stderr)");
}

function exitOnUsageError(err: CommanderError): never {
  // Commander has already printed the help or the error.
  process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
}
