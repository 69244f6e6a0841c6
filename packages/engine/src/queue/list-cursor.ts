/**
 * The cursor of a page of jobs (decision 083). Most lists are newest id first and resume below
 * the last job's id: their cursor is that id. A queue's jobs in one finished state are listed in
 * finish order, so their cursor also carries the last job's finish time, in microseconds since
 * the epoch, as `<microseconds>_<id>`: the page after it is exact even when the job the cursor
 * names was retried, purged or expired in between.
 */
import { JOBS_CURSOR } from "@keel/protocol/names";
import { KeelError } from "../errors.js";
import type { JobState } from "./types.js";

const MAX_BIGINT = 9_223_372_036_854_775_807n;
const FINISHED: ReadonlySet<JobState> = new Set(["succeeded", "dead", "cancelled"]);

/** A parsed cursor: the last job's id and, for lists in finish order, its finish time. */
export interface ListCursor {
  id: string;
  finishedUs: string | null;
}

/** Whether a list with these filters is in finish order (a queue and a finished state). */
export function inFinishOrder(filter: { queue?: string | undefined; state?: JobState | undefined }): boolean {
  return filter.queue !== undefined && filter.state !== undefined && FINISHED.has(filter.state);
}

/** Parses a cursor given back by a caller; a bare job id is a cursor too. */
export function parseListCursor(cursor: string): ListCursor {
  const m = JOBS_CURSOR.exec(cursor);
  // Ids are Postgres bigints: nineteen digits may still be past the largest.
  if (!m?.[2] || BigInt(m[2]) > MAX_BIGINT) {
    throw new KeelError("invalid_argument", {
      detail: "cursor: the nextCursor of an earlier page (or a job id, digits)",
    });
  }
  return { id: m[2], finishedUs: m[1] ?? null };
}

/** The cursor that resumes after a job: its id, with its finish time for lists in finish order. */
export function listCursorAfter(id: string, finishedUs: string | null): string {
  return finishedUs === null ? id : `${finishedUs}_${id}`;
}
