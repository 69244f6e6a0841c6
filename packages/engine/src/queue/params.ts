import { KeelError } from "../errors.js";
import { column } from "./insert.js";
import type { AttemptDetail } from "./types.js";

/** Checks a job id (a positive bigint as a string); anything else cannot be a job. */
export function parseJobId(id: string): string {
  if (typeof id !== "string" && typeof id !== "number") {
    throw new KeelError("invalid_argument", { detail: "job id must be a string of digits" });
  }
  const s = String(id);
  if (!/^[1-9][0-9]{0,18}$/.test(s)) throw new KeelError("job_not_found", { id: s });
  return s;
}

/**
 * Attempt details as the three parallel arrays the complete and fail statements take; a column
 * null for every job (a handler's jobs have no details) as null, which their `unnest` pads.
 */
export function detailColumns(
  details: (AttemptDetail | null | undefined)[],
): [(number | null)[] | null, (number | null)[] | null, (string | null)[] | null] {
  return [
    column(details, (d) => (d?.responseStatus == null ? null : Math.trunc(d.responseStatus))),
    column(details, (d) => (d?.latencyMs == null ? null : Math.round(d.latencyMs))),
    column(details, (d) => d?.responseBody ?? null),
  ];
}
