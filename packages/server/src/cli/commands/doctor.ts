import { errorText } from "@keel/engine";
import { Command } from "commander";
import { readDoctorInputs } from "../../doctor/inputs.js";
import { runDoctor } from "../../doctor/run.js";
import { doctorText } from "../../doctor/text.js";
import { EXIT } from "../exit-codes.js";
import { Output } from "../output.js";
import { openSessionWith, type Session } from "../session.js";
import { exitOnUsageError } from "./command.js";

/**
 * `keel doctor [--json] [--no-probes]`: the production-readiness checks (docs/doctor.md).
 * Exit 0 when nothing fails (warnings included), 7 when a check fails.
 */
export function doctorCommand(): Command {
  return new Command("doctor")
    .description("Check this deployment for production: configuration, targets, Postgres, operations.")
    .option("--json", "print the report as JSON")
    .option("--no-probes", "skip the live requests to schedule and route targets")
    .exitOverride(exitOnUsageError)
    .action(async (flags: { json?: boolean; probes: boolean }) => {
      const out = new Output(flags.json === true);
      const inputs = await readDoctorInputs(process.env);
      let session: Session | undefined;
      let databaseError: string | undefined;
      if (!inputs.keel) databaseError = "the environment is invalid (see config.environment)";
      else if (inputs.production && !inputs.keel.databaseUrl) {
        databaseError = "DATABASE_URL is not set (see config.database_url)";
      } else {
        try {
          session = await openSessionWith(inputs.keel);
        } catch (err) {
          databaseError = errorText(err);
        }
      }
      try {
        const report = await runDoctor(
          { ...inputs, engine: session?.engine, databaseError, self: 0 },
          { probes: flags.probes },
        );
        out.result(report, () => doctorText(report));
        process.exitCode = report.status === "fail" ? EXIT.checksFailed : EXIT.ok;
      } finally {
        await session?.close().catch(() => {});
      }
    });
}
