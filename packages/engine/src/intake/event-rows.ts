import { BIGINT_ID, SOURCE_NAME } from "@keel/protocol/names";
import { KeelError } from "../errors.js";
import {
  EVENT_STATUSES,
  type EventFilter,
  type EventStatus,
  type EventSummary,
  type Verification,
} from "./types.js";

// Events as the statements see them: ids, the list filter as parameters, rows as records.

/** An event id: a Postgres bigint, as a string. */
export const EVENT_ID = BIGINT_ID;

export interface SummaryRow {
  id: string;
  source: string;
  event_id: string;
  type: string | null;
  content_type: string | null;
  size: number;
  verification: Verification;
  received_at: Date;
  routed_at: Date;
  jobs_created: number;
  replays: number;
  status: EventStatus;
}

/** Checks an event id (digits); anything else cannot be an event. */
export function parseEventId(id: string): string {
  const s = String(id);
  if (!EVENT_ID.test(s)) throw new KeelError("event_not_found", { id: s });
  return s;
}

/** The filter as the list statement's first six parameters, checked. */
export function filterValues(filter: EventFilter): unknown[] {
  const bad = (detail: string): never => {
    throw new KeelError("invalid_argument", { detail });
  };
  if (filter.source !== undefined && !SOURCE_NAME.test(filter.source)) bad("source: not a source name");
  if (filter.status !== undefined && !EVENT_STATUSES.includes(filter.status)) {
    bad(`status: one of ${EVENT_STATUSES.join(", ")}`);
  }
  if (filter.before !== undefined && !EVENT_ID.test(filter.before)) bad("before: an event id (digits)");
  const time = (name: string, value: Date | string | undefined) => {
    if (value === undefined) return null;
    const d = new Date(value);
    return Number.isNaN(d.getTime()) ? bad(`${name}: an ISO 8601 time`) : d;
  };
  let type: string | null = null;
  if (filter.type !== undefined) {
    if (typeof filter.type !== "string" || filter.type.length === 0 || filter.type.length > 200) {
      bad("type: an event type or a pattern with *, up to 200 characters");
    }
    // `*` is the wildcard; LIKE's own wildcards and escape are literal characters here.
    type = filter.type.replace(/[\\%_]/g, "\\$&").replaceAll("*", "%");
  }
  return [
    filter.source ?? null,
    type,
    filter.status ?? null,
    time("since", filter.since),
    time("until", filter.until),
    filter.before ?? null,
  ];
}

export function toSummary(r: SummaryRow): EventSummary {
  return {
    id: r.id,
    source: r.source,
    eventId: r.event_id,
    type: r.type,
    contentType: r.content_type,
    size: r.size,
    status: r.status,
    verification: r.verification,
    receivedAt: r.received_at,
    routedAt: r.routed_at,
    jobsCreated: r.jobs_created,
    replays: r.replays,
  };
}
