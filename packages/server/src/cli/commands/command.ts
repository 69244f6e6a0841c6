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

/**
 * The first word of `args` (what follows `keel`) that names no command where a command is
 * expected, or undefined. Commander prints help for `keel <unknown> --help` (exit 0) before it
 * looks at the command; checking first lets the unknown command be reported (exit 2).
 *
 * @example
 * unknownCommand(program, ["jbos", "--help"]); // "jbos"
 */
export function unknownCommand(root: Command, args: readonly string[]): string | undefined {
  let command = root;
  for (let i = 0; i < args.length; i++) {
    // A command without subcommands takes the rest as its own arguments.
    if (command.commands.length === 0) return undefined;
    const arg = args[i] as string;
    if (arg === "--") return undefined;
    if (arg.startsWith("-")) {
      const option = command.options.find((o) => o.long === arg || o.short === arg);
      if (option && (option.required || option.optional)) i++;
      continue;
    }
    // `keel help <command>`: the word after it must be a command too.
    if (arg === "help") continue;
    const next = command.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (!next) return arg;
    command = next;
  }
  return undefined;
}

/** Commander usage errors exit 2, help and version 0. */
export function exitOnUsageError(err: CommanderError): never {
  // Commander has already printed the help or the error.
  process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
}
