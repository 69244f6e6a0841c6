import { KeelError } from "@keel/engine";
import type { Command } from "commander";
import { runDrill } from "../../backups/drill.js";
import { backupNow } from "../../backups/dump.js";
import { type BackupRecord, getBackup, listBackups } from "../../backups/records.js";
import { restoreBackup } from "../../backups/restore.js";
import { backupTargets } from "../../backups/targets.js";
import type { BackupsConfig } from "../../config/backups.js";
import { loadEnv } from "../../config/env.js";
import { loadConfigFile } from "../../config/file.js";
import { clean, duration, fields, table, time } from "../output.js";
import { type JsonFlag, runOperator } from "../run.js";
import { group, leaf } from "./command.js";

/** `keel backup now|list|restore|drill` (docs/backups.md). */
export function backupCommand(): Command {
  const backup = group("backup", "Dumps with pg_dump, restores with pg_restore, and restore drills.");

  leaf(backup, "now", "Dump what backups.what names to backups.dir or backups.to, and record each dump.")
    .option("--target <name>", "only this target: app or keel")
    .action((flags: JsonFlag & { target?: string }) =>
      runOperator(flags, async (session, out) => {
        const config = await backupsConfig();
        const targets = backupTargets(config, process.env, session.database).filter(
          (t) => !flags.target || t.name === flags.target,
        );
        const done: BackupRecord[] = [];
        for (const target of targets) done.push(await backupNow(session.engine, config, target));
        out.result({ backups: done }, () =>
          done
            .map(
              (b) =>
                `Backup ${b.id} of ${b.target} (${b.source}): ${bytes(b.sizeBytes)}, ${tableCount(b.tables)} tables, ${b.path}`,
            )
            .join("\n"),
        );
      }),
    );

  leaf(backup, "list", "The recorded backups, newest first.")
    .option("--limit <n>", "how many", "50")
    .action((flags: JsonFlag & { limit: string }) =>
      runOperator(flags, async ({ engine }, out) => {
        const rows = await listBackups(engine, Math.max(1, Number(flags.limit) || 50));
        out.result({ backups: rows }, () =>
          rows.length === 0
            ? "No backup has been taken: keel backup now."
            : table(rows, [
                { header: "ID", value: (b) => b.id, align: "right" },
                { header: "TARGET", value: (b) => b.target },
                { header: "STATUS", value: (b) => b.status },
                { header: "STARTED", value: (b) => time(b.startedAt) },
                { header: "SIZE", value: (b) => bytes(b.sizeBytes), align: "right" },
                { header: "SOURCE", value: (b) => b.source },
                { header: "PATH OR ERROR", value: (b) => clean(b.path ?? b.error ?? ""), max: 80 },
              ]),
        );
      }),
    );

  leaf(backup, "restore <id>", "Restore a backup into a database, after checking its SHA-256.")
    .requiredOption("--to <database-url>", "the database to restore into")
    .option("--force", "restore over a database that already holds tables (drops what the dump holds)")
    .action((id: string, flags: JsonFlag & { to: string; force?: boolean }) =>
      runOperator(flags, async ({ engine }, out) => {
        const found = await getBackup(engine, id);
        if (found?.status !== "succeeded") throw new KeelError("backup_not_found", { id });
        // The config holds what a dump in S3 or an encrypted dump needs; a local one needs none.
        const { config } = await loadConfigFile({ file: loadEnv(process.env).configFile });
        const { restoreMs } = await restoreBackup(engine, found, flags.to, {
          force: flags.force,
          config: config.backups,
        });
        out.result({ id, restoreMs }, () => `Restored backup ${id} in ${duration(restoreMs / 1000)}.`);
      }),
    );

  leaf(backup, "drill", "Restore the latest backup into a scratch database and check it against the dump.")
    .option("--target <name>", "the latest backup of this target: app or keel")
    .action((flags: JsonFlag & { target?: string }) =>
      runOperator(flags, async (session, out) => {
        const config = await backupsConfig();
        const result = await runDrill(session.engine, config, process.env, session.database, flags.target);
        out.result(result, () =>
          fields([
            ["drill", `${result.id} passed`],
            ["backup", `${result.backupId} (${result.target})`],
            ["restore time (RTO)", duration(result.restoreMs / 1000)],
            ["data age (RPO)", duration(result.dataAgeSeconds)],
            ["checked", `${result.tables} tables, ${result.rows} rows`],
          ]),
        );
      }),
    );

  return backup;
}

async function backupsConfig(): Promise<BackupsConfig> {
  const { config, path } = await loadConfigFile({ file: loadEnv(process.env).configFile });
  if (config.backups) return config.backups;
  const problem = `${path ?? "config"}: backups: is missing; add a backups: section (docs/backups.md)`;
  throw new KeelError("invalid_config", { problems: `- ${problem}`, list: [problem] });
}

function bytes(n: number | null): string | null {
  if (n === null) return null;
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

const tableCount = (tables: Record<string, number> | null) => Object.keys(tables ?? {}).length;
