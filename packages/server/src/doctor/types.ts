import type { DoctorCheck, DoctorReport, DoctorStatus } from "@keel/protocol/contracts";

export type { DoctorCheck, DoctorReport, DoctorStatus };

/** The worst of some statuses: `fail` over `warn` over `pass`. */
export function worst(statuses: readonly DoctorStatus[]): DoctorStatus {
  if (statuses.includes("fail")) return "fail";
  if (statuses.includes("warn")) return "warn";
  return "pass";
}

/** A passing check: what was seen, nothing to fix. */
export function pass(id: string, seen: string): DoctorCheck {
  return { id, status: "pass", seen, fix: null };
}

/** A check that found a problem, with the exact change that fixes it. */
export function problem(id: string, status: "warn" | "fail", seen: string, fix: string): DoctorCheck {
  return { id, status, seen, fix };
}

/** The report of a set of checks, in the order given, with the worst status as its own. */
export function report(checks: DoctorCheck[], at: Date = new Date()): DoctorReport {
  const counts = { pass: 0, warn: 0, fail: 0 };
  for (const c of checks) counts[c.status]++;
  return { status: worst(checks.map((c) => c.status)), at: at.toISOString(), counts, checks };
}
