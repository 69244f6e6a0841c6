import { clean } from "../cli/output.js";
import type { DoctorReport } from "./types.js";

const LABEL = { pass: "PASS", warn: "WARN", fail: "FAIL" } as const;

/**
 * The report for people: a summary line, then each check; problems with what was seen and the
 * fix on their own lines, passes on one line. Text from the database and targets is cleaned
 * of terminal escapes.
 *
 * @example
 * process.stdout.write(`${doctorText(report)}\n`);
 */
export function doctorText(report: DoctorReport): string {
  const { pass, warn, fail } = report.counts;
  const lines = [`Keel doctor: ${fail} fail, ${warn} warn, ${pass} pass`, ""];
  for (const c of report.checks) {
    if (c.status === "pass") {
      lines.push(`${LABEL.pass}  ${c.id}: ${clean(c.seen)}`);
      continue;
    }
    lines.push(
      `${LABEL[c.status]}  ${c.id}`,
      `      seen: ${clean(c.seen)}`,
      `      fix:  ${clean(c.fix ?? "")}`,
    );
  }
  return lines.join("\n");
}
