import { errorText } from "@keel/engine";
import type { Resolver } from "../delivery/connector.js";
import { appHealthCheck } from "./app-health.js";
import { backupChecks } from "./backup-checks.js";
import { configChecks } from "./config-checks.js";
import type { DoctorInputs } from "./inputs.js";
import { type OperationsCheckOptions, operationsChecks } from "./operations-checks.js";
import {
  type PostgresCheckOptions,
  type PostgresFacts,
  postgresChecks,
  readPostgresFacts,
} from "./postgres-checks.js";
import { probeTargets } from "./probes.js";
import { secretChecks } from "./secrets.js";
import { collectTargets, type SecretUse, type TargetUse, type ZoneUse } from "./targets.js";
import { type DoctorCheck, type DoctorReport, pass, problem, report } from "./types.js";

export interface DoctorOptions extends PostgresCheckOptions, OperationsCheckOptions {
  /** Send the live probes to targets. Default true. */
  probes?: boolean;
  /** Per probe: connect, answer and body together. Default 5 s. */
  probeTimeoutMs?: number;
  /** DNS for the probes (tests). */
  resolve?: Resolver;
}

/**
 * Runs every check of `keel doctor` and `GET /v1/doctor`, in order: configuration, live probes
 * of the targets, Postgres, operations. A check that cannot run (Postgres gone mid-way) is a
 * `fail` saying so; nothing throws for what it finds.
 *
 * @example
 * const report = await runDoctor({ ...(await readDoctorInputs(process.env)), engine, self: 0 });
 * if (report.status === "fail") process.exitCode = 7;
 */
export async function runDoctor(inputs: DoctorInputs, options: DoctorOptions = {}): Promise<DoctorReport> {
  const { engine } = inputs;
  let databaseError = inputs.databaseError;
  let facts: PostgresFacts | undefined;
  if (engine) {
    try {
      facts = await readPostgresFacts(engine);
    } catch (err) {
      databaseError = errorText(err);
    }
  }
  // Without the database, the config file's targets and zones are still checked.
  const reachable = facts ? inputs : { ...inputs, engine: undefined };
  let found: { targets: TargetUse[]; zones: ZoneUse[]; secrets: SecretUse[] } = {
    targets: [],
    zones: [],
    secrets: [],
  };
  const checks: DoctorCheck[] = [];
  await guard(checks, "config.targets", async () => {
    found = await collectTargets(reachable);
    return [];
  });
  await guard(checks, "config.secrets", () => secretChecks(reachable));
  const apiReplicas = facts ? (facts.replicas.api ?? 0) + (facts.replicas.all ?? 0) : undefined;
  checks.push(...configChecks(inputs, { ...found, postgresTls: facts?.server.ssl, apiReplicas }));
  if (options.probes !== false) {
    const probe = {
      production: inputs.production,
      allowlist: inputs.keel?.targetAllowlist ?? [],
      timeoutMs: options.probeTimeoutMs,
      resolve: options.resolve,
    };
    await guard(checks, "probe", async () => [
      await appHealthCheck(inputs.file.config?.doctor, inputs.env, probe),
      ...(await probeTargets(found.targets, probe)),
    ]);
  }
  if (!engine || !facts) {
    checks.push(
      problem(
        "postgres.connect",
        "fail",
        `Keel's database cannot be used: ${databaseError ?? "not opened"}`,
        "check DATABASE_URL (host, port, credentials, database) and that Postgres is up; the Postgres and operations checks need it",
      ),
    );
    return report(checks);
  }
  checks.push(pass("postgres.connect", `connected to schema ${engine.schema}`));
  await guard(checks, "postgres", () => postgresChecks(engine, facts, inputs.self, options));
  await guard(checks, "operations", () => operationsChecks(engine, options));
  await guard(checks, "operations.backups", () =>
    backupChecks(engine, inputs.file.config?.backups, inputs.env),
  );
  return report(checks);
}

async function guard(checks: DoctorCheck[], id: string, run: () => Promise<DoctorCheck[]>): Promise<void> {
  try {
    checks.push(...(await run()));
  } catch (err) {
    checks.push(
      problem(
        id,
        "fail",
        `the check could not run: ${errorText(err)}`,
        "run keel doctor again; if it persists, the message says what is wrong",
      ),
    );
  }
}
