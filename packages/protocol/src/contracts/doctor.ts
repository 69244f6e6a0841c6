import { z } from "zod";
import { type Contract, defineContract } from "./contract.js";

// `keel doctor` over HTTP: the production-readiness checks, each with what was seen and the fix.

export const DOCTOR_STATUSES = ["pass", "warn", "fail"] as const;
export const DoctorStatus = z.enum(DOCTOR_STATUSES);
export type DoctorStatus = z.output<typeof DoctorStatus>;

export const DoctorCheck = z.strictObject({
  id: z.string().meta({
    description:
      "Stable check id: `config.secrets`, `probe.schedule.<name>`, `postgres.sessions`, `operations.dead_letters`, …",
  }),
  status: DoctorStatus,
  seen: z.string().meta({ description: "What the check saw; never a secret's value." }),
  fix: z.string().nullable().meta({ description: "The exact change that fixes it; null when it passes." }),
});
export type DoctorCheck = z.output<typeof DoctorCheck>;

export const DoctorReport = z.strictObject({
  status: DoctorStatus.meta({ description: "The worst status of the checks." }),
  at: z.string().meta({ description: "When the checks ran (ISO 8601)." }),
  counts: z.strictObject({ pass: z.number().int(), warn: z.number().int(), fail: z.number().int() }),
  checks: z.array(DoctorCheck),
});
export type DoctorReport = z.output<typeof DoctorReport>;

export const getDoctor = defineContract({
  operationId: "getDoctor",
  method: "GET",
  path: "/doctor",
  tag: "Operations",
  summary: "Production-readiness checks: configuration, live probes, Postgres, operations",
  description:
    "Runs the checks of `keel doctor` in this replica and answers 200 with every result, whatever they found (`status` is the worst of them). Live probes send one unauthenticated request to each schedule's and route's target; `probes=false` leaves them out. Concurrent calls share one run.",
  scope: "read",
  query: z.strictObject({
    probes: z
      .enum(["true", "false"])
      .optional()
      .meta({ description: "`false` skips the live probes of targets. Default `true`." }),
  }),
  responses: { 200: { description: "The checks and their results.", schema: DoctorReport } },
  errors: [],
});

export const doctorContracts: readonly Contract[] = [getDoctor];
