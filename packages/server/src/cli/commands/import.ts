import { Option } from "commander";
import { IMPORT_FORMATS, type ImportFormat } from "../../import/found.js";
import type { CommandTarget } from "../../import/schedules.js";
import { type JsonFlag, runOffline } from "../run.js";
import { group } from "./command.js";

interface ImportFlags extends JsonFlag {
  format?: ImportFormat;
  baseUrl?: string;
  commands?: CommandTarget;
  write?: string;
  force?: boolean;
}

/**
 * `keel import <file>`: a vercel.json, render.yaml or crontab as Keel schedules (docs/import.md).
 * Prints the config; `--write` merges it into a config file. Needs no database.
 */
export function importCommand() {
  return group("import", "Turn the cron jobs of a vercel.json, render.yaml or crontab into Keel schedules.")
    .argument("<file>", "vercel.json, render.yaml or a crontab file")
    .addOption(
      new Option("--format <format>", "the file's format (default: from its name)").choices(IMPORT_FORMATS),
    )
    .option(
      "--base-url <url>",
      "your app's base URL for Vercel cron paths; ${VAR} is read from the environment",
      "${APP_URL}",
    )
    .addOption(
      new Option("--commands <target>", "commands become handler targets, or GET <base-url>/api/cron/<name>")
        .choices(["handler", "url"])
        .default("handler"),
    )
    .option("--write <file>", "merge the schedules into this YAML or JSON config file")
    .option("--force", "with --write, replace schedules of the same name")
    .option("--json", "print the result as JSON (errors as JSON on stderr)")
    .action((file: string, flags: ImportFlags) =>
      runOffline(flags, async (out) => {
        // Loaded when the command runs: `keel start` does not carry the importers and the YAML writer.
        const { importCrons } = await import("../../import/schedules.js");
        const { importedYaml, writeImported } = await import("../../import/write.js");
        const result = importCrons(file, {
          format: flags.format,
          baseUrl: flags.baseUrl,
          commands: flags.commands,
        });
        if (!flags.write) {
          out.result(result, () => importedYaml(result).trimEnd());
          return;
        }
        const written = writeImported(flags.write, result, flags.force === true);
        out.result({ ...written, schedules: result.schedules, notes: result.notes }, () => {
          const lines = [];
          if (written.added.length) lines.push(`added to ${written.path}: ${written.added.join(", ")}`);
          if (written.replaced.length)
            lines.push(`replaced in ${written.path}: ${written.replaced.join(", ")}`);
          return lines.join("\n");
        });
      }),
    );
}
