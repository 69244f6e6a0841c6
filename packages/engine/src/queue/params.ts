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

const PLAIN_ID = /^[0-9]{1,19}$/;
const PLAIN_TOKEN = /^[0-9a-fA-F-]{1,36}$/;

/**
 * The ids and lease tokens of held jobs as the two array parameters the complete, fail, release
 * and heartbeat statements take, each one Postgres array literal: the driver otherwise quotes
 * and escapes every element (two pattern replacements each). An element that is not plain (an
 * id of digits, a token of hex digits and dashes: what a claim returns) makes that array go as
 * an array, for the driver to quote; such a job holds no lease anyway.
 */
export function leaseColumns(
  jobs: { id: string; leaseToken: string }[],
): [string | string[], string | string[]] {
  const ids = jobs.map((j) => j.id);
  const tokens = jobs.map((j) => j.leaseToken);
  return [literal(ids, PLAIN_ID), literal(tokens, PLAIN_TOKEN)];
}

function literal(values: string[], plain: RegExp): string | string[] {
  // A claim's jobs share one lease token (decision 075): a value like the one before is plain.
  let previous: string | undefined;
  for (const v of values) {
    if (v === previous) continue;
    if (typeof v !== "string" || !plain.test(v)) return values;
    previous = v;
  }
  return `{${values.join(",")}}`;
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
