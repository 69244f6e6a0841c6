import type { JobSummary, Target } from "./types.js";

// The shapes of /v1/events and /v1/sources (checked against the contracts like types.ts).

export type Provider = "stripe" | "standard" | "github" | "shopify" | "revenuecat" | "hmac" | "bearer";
/** From the jobs of the latest routing: one unfinished, one dead or cancelled, all done, or no route matched. */
export type EventStatus = "pending" | "delivered" | "failed" | "unrouted";

/** Where an event's id or type is read: a header, or a dotted path in the JSON body. */
export type EventField = { header: string } | { path: string };

export interface EventVerification {
  provider: Provider;
  /** Which of the source's secrets matched (1 = first). */
  secret: number;
  /** The signed timestamp, where the provider signs one. */
  timestamp?: string;
}

export interface EventSummary {
  id: string;
  source: string;
  /** The provider's event id (the dedupe key), or sha256:<digest of the body>. */
  eventId: string;
  type: string | null;
  contentType: string | null;
  size: number;
  status: EventStatus;
  verification: EventVerification;
  receivedAt: string;
  routedAt: string;
  jobsCreated: number;
  replays: number;
}

/** An event with what was received and the jobs it made. */
export interface IntakeEvent extends EventSummary {
  /** As received, credential-like values `[redacted]`. */
  headers: Record<string, string>;
  /** UTF-8 text, or base64 when `bodyEncoding` says so. */
  body: string;
  bodyEncoding: "utf8" | "base64";
  deliveries: JobSummary[];
}

export interface EventFilter {
  source?: string;
  /** An event type, or a pattern where `*` matches anything. */
  type?: string;
  status?: EventStatus;
  /** Received at or after (ISO 8601). */
  since?: string;
  /** Received before (ISO 8601). */
  until?: string;
}

export interface ListEventsQuery extends EventFilter {
  limit?: number;
  cursor?: string;
}

export interface EventPage {
  events: EventSummary[];
  nextCursor: string | null;
}

/** At least one filter is required (the server refuses an empty one). */
export interface ReplayEventsInput extends EventFilter {
  cursor?: string;
  limit?: number;
}

export interface EventsReplayed {
  replayed: number;
  /** Events whose source no longer exists. */
  skipped: number;
  jobs: number;
  nextCursor: string | null;
}

export interface EventReplayed {
  id: string;
  jobs: string[];
}

export interface SourceRoute {
  /** Event type patterns; `*` matches any run of characters. Default ["*"]. */
  events?: string[];
  target: Target;
  /** Default `intake`. */
  queue?: string;
}

/** `PUT /v1/sources/:name`: the whole definition, secrets included (never returned). */
export interface SourceInput {
  provider: Provider;
  /** Every secret a request may be signed with; `${VAR}` is read from Keel's environment. */
  secrets: string[];
  toleranceSeconds?: number;
  bodyLimitBytes?: number;
  retentionSeconds?: number;
  hmac?: {
    header: string;
    algorithm?: "sha256" | "sha1" | "sha512";
    encoding?: "hex" | "base64";
    prefix?: string;
    timestampHeader?: string;
    signed?: string;
  };
  bearer?: { header?: string; prefix?: string };
  eventId?: EventField;
  eventType?: EventField;
  routes?: SourceRoute[];
}

export interface Source {
  name: string;
  /** Where the provider sends events, relative to Keel's address. */
  url: string;
  provider: Provider;
  /** A `${VAR}` reference or null, and the first 8 hex digits of the secret's SHA-256. */
  secrets: { reference: string | null; fingerprint: string | null }[];
  toleranceSeconds?: number;
  hmac?: Record<string, unknown>;
  bearer?: Record<string, unknown>;
  eventId?: Record<string, string>;
  eventType?: Record<string, string>;
  routes: { events: string[]; target: unknown; queue: string }[];
  bodyLimitBytes: number;
  retentionSeconds: number;
  managedBy: "config" | "api";
  createdAt: string;
  updatedAt: string;
}

/** A refused intake request: never its body. */
export interface SourceRejection {
  id: string;
  at: string;
  reason: string;
  detail: string | null;
  headers: Record<string, string>;
  bodySize: number | null;
  requestId: string | null;
}
