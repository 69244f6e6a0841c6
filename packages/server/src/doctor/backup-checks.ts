import type { Engine } from "@keel/engine";
import { backupKeys } from "../backups/encryption.js";
import { backupStore } from "../backups/storage.js";
import { backupTargets, resolveVariable } from "../backups/targets.js";
import { findTool } from "../backups/tools.js";
import { duration } from "../cli/output.js";
import type { BackupsConfig } from "../config/backups.js";
import { type DoctorCheck, pass, problem } from "./types.js";

interface Facts {
  backup_age_seconds: number | null;
  drill_age_seconds: number | null;
  last_drill_status: "succeeded" | "failed" | null;
  last_drill_error: string | null;
  last_drill_age_seconds: number | null;
}

/**
 * The age of the latest successful backup and restore drill against `backups:` (decision 046):
 * older than the policy warns, older than twice the policy (or none at all) fails, and a latest
 * drill that failed fails. Without a `backups:` section there is no policy to hold them to.
 */
export async function backupChecks(
  engine: Engine,
  config: BackupsConfig | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<DoctorCheck[]> {
  if (!config) {
    return [
      pass(
        "operations.backups",
        "no backups: section: Keel takes no backups here (add one, or back the databases up another way; docs/backups.md)",
      ),
    ];
  }
  const [facts] = await engine.run<Facts>("doctor_backups", []);
  return [
    settings(config, env),
    backupAge(facts, config.maxAgeHours * 3600),
    drillAge(facts, config.drills.maxAgeDays * 86_400),
  ];
}

/**
 * What a backup or drill needs before it runs: the tools, every `${VARIABLE}` `backups:` names
 * (database URLs, S3 credentials, keys) set, and the keys well-formed. Names, never values.
 */
function settings(config: BackupsConfig, env: NodeJS.ProcessEnv): DoctorCheck {
  const id = "operations.backup_settings";
  const problems: string[] = [];
  const attempt = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  };
  attempt(() => findTool("pg_dump"));
  attempt(() => findTool("pg_restore"));
  attempt(() => backupTargets(config, env, { connectionString: "", schema: "" }));
  if (config.drills.server)
    attempt(() => resolveVariable(config.drills.server as string, env, "drills.server"));
  attempt(() => backupStore(config, env));
  attempt(() => backupKeys(config, env));
  if (problems.length === 0) {
    const where = config.to?.s3 ? `s3://${config.to.s3.bucket}` : (config.to?.dir ?? config.dir);
    return pass(
      id,
      `pg_dump and pg_restore found, every variable set; dumps go to ${where}${config.encryption ? ", encrypted" : ""}`,
    );
  }
  return problem(
    id,
    "fail",
    problems.join("; "),
    "install the tools and set the variables backups: names in the environment of every Keel process that runs workers (roles all and worker), then restart them",
  );
}

function backupAge(facts: Facts | undefined, limit: number): DoctorCheck {
  const id = "operations.backups";
  const fix =
    "run keel backup now, and set backups.schedule (a Keel job) to run at least as often as backups.maxAgeHours";
  const age = facts?.backup_age_seconds ?? null;
  if (age === null) return problem(id, "fail", "no backup has succeeded", fix);
  const seen = `the latest successful backup is ${duration(age)} old (policy: ${duration(limit)})`;
  if (age > 2 * limit) return problem(id, "fail", seen, fix);
  if (age > limit) return problem(id, "warn", seen, fix);
  return pass(id, seen);
}

function drillAge(facts: Facts | undefined, limit: number): DoctorCheck {
  const id = "operations.restore_drills";
  const fix =
    "run keel backup drill, and set backups.drills.schedule to run at least as often as backups.drills.maxAgeDays";
  if (facts?.last_drill_status === "failed") {
    return problem(
      id,
      "fail",
      `the latest restore drill failed ${duration(facts.last_drill_age_seconds ?? 0)} ago: ${facts.last_drill_error ?? "no error recorded"}`,
      "read the error, fix the backup (keel backup now) or what the drill found, then keel backup drill",
    );
  }
  const age = facts?.drill_age_seconds ?? null;
  if (age === null) return problem(id, "warn", "no restore drill has passed: the backups are untested", fix);
  const seen = `the latest passing restore drill is ${duration(age)} old (policy: ${duration(limit)})`;
  if (age > 2 * limit) return problem(id, "fail", seen, fix);
  if (age > limit) return problem(id, "warn", seen, fix);
  return pass(id, seen);
}
