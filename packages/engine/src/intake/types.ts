import type { EventStatus, Provider } from "@keel/protocol/names";
import type { EnqueueInput, JobSummary, JobTarget } from "../queue/types.js";

export { EVENT_STATUSES, type EventStatus, PROVIDERS, type Provider } from "@keel/protocol/names";

/** The generic HMAC verifier: which header, how the digest is written, what is signed. */
export interface HmacSettings {
  /** The header holding the signature, e.g. `X-Signature`. */
  header: string;
  /** Default sha256. */
  algorithm?: "sha256" | "sha1" | "sha512";
  /** How the digest is written in the header. Default hex. */
  encoding?: "hex" | "base64";
  /** Text before the digest, e.g. `sha256=`. */
  prefix?: string;
  /** A header holding unix seconds (or milliseconds) that is part of the signed content. */
  timestampHeader?: string;
  /** What is signed: `{body}`, or with a timestamp header e.g. `{timestamp}.{body}` (the default then). */
  signed?: string;
}

/** A shared value sent in a header: `prefix` + secret. */
export interface BearerSettings {
  /** Default `authorization`. */
  header?: string;
  /** Default `Bearer ` (with its space); "" when the header holds the bare secret. */
  prefix?: string;
}

/** Where hmac and bearer sources find the event id or type: a header, or a dotted path in a JSON body. */
export type EventField = { header: string } | { path: string };

/** Where a source forwards the events whose type matches. */
export interface SourceRoute {
  /** Event type patterns; `*` matches any run of characters. Default `["*"]` (every event). */
  events: string[];
  target: JobTarget;
  /** Default `intake`. */
  queue: string;
  /** The flow key and concurrency of the route's jobs (docs/flow-control.md). */
  flowKey?: string;
  flowConcurrency?: number;
  /** At most one of the route's jobs with this key queued or running (docs/flow-control.md). */
  singleton?: EnqueueInput["singleton"];
  /** The route's jobs replace the pending one with this key and run after the quiet period. */
  debounce?: EnqueueInput["debounce"];
}

/** A source as declared in the config file or through the API. */
export interface SourceDefinition {
  provider: Provider;
  /** Every secret a request may be signed with (rotation); `${VAR}` is read from Keel's environment. */
  secrets: string[];
  /** For providers that sign a timestamp: how far it may be from now, seconds. Default 300. */
  toleranceSeconds?: number;
  /** Largest accepted body. Default 1 MiB. */
  bodyLimitBytes?: number;
  /** How long events are kept, seconds. Default 30 days. */
  retentionSeconds?: number;
  hmac?: HmacSettings;
  bearer?: BearerSettings;
  eventId?: EventField;
  eventType?: EventField;
  routes?: SourceRouteInput[];
}

/** A route as written: `events` and `queue` may be left out. */
export interface SourceRouteInput {
  events?: string[];
  target: JobTarget;
  queue?: string;
  flowKey?: string;
  flowConcurrency?: number;
  singleton?: EnqueueInput["singleton"];
  debounce?: EnqueueInput["debounce"];
}

/** The settings a stored source keeps besides its secrets, routes and limits. */
export interface SourceSettings {
  toleranceSeconds?: number;
  hmac?: HmacSettings;
  bearer?: BearerSettings;
  eventId?: EventField;
  eventType?: EventField;
}

/** A stored source, defaults filled in. */
export interface Source {
  name: string;
  provider: Provider;
  /** As configured: literals or `${VAR}` references. Never shown by the API. */
  secrets: string[];
  settings: SourceSettings;
  routes: SourceRoute[];
  bodyLimitBytes: number;
  retentionSeconds: number;
  /** `config`: declared in the config file (API changes refused); `api`: made through the API. */
  managedBy: "config" | "api";
  createdAt: Date;
  updatedAt: Date;
}

/** A verified request, ready to be stored and routed. */
export interface AcceptInput {
  source: Source;
  /** The provider's event id (the dedupe key). */
  eventId: string;
  type: string | null;
  contentType: string | null;
  /** The headers to keep and forward (lowercase names). */
  headers: Record<string, string>;
  body: Buffer;
  /** What verified it: provider, which secret (1-based), the signed timestamp. */
  verification: Verification;
}

export interface Verification {
  provider: Provider;
  /** 1-based position of the secret that matched. */
  secret: number;
  /** The signed timestamp, ISO 8601, for providers that sign one. */
  timestamp?: string;
}

export interface AcceptResult {
  /** Keel's id of the stored event (for a duplicate: of the event stored first). */
  id: string;
  duplicate: boolean;
  /** Jobs made by routing; 0 for a duplicate. */
  jobs: number;
}

/** An event in a list: everything but its body and headers. */
export interface EventSummary {
  id: string;
  source: string;
  eventId: string;
  type: string | null;
  contentType: string | null;
  size: number;
  status: EventStatus;
  verification: Verification;
  receivedAt: Date;
  routedAt: Date;
  jobsCreated: number;
  replays: number;
}

/** An event with its raw body, headers and the jobs it made. */
export interface EventRecord extends EventSummary {
  headers: Record<string, string>;
  body: Buffer;
  /** Jobs made by this event (arrival and replays), oldest first. */
  deliveries: JobSummary[];
}

export interface EventFilter {
  source?: string;
  /** Exact, or a pattern with `*`. */
  type?: string;
  status?: EventStatus;
  /** Received at or after. */
  since?: Date | string;
  /** Received before. */
  until?: Date | string;
  /** Events with ids below this one (the cursor of the next page). */
  before?: string;
}

export interface ReplayResult {
  id: string;
  /** Ids of the jobs made (one per matching route). */
  jobs: string[];
}

/** A refused request, as kept for debugging (never the body). */
export interface Rejection {
  source: string;
  reason: string;
  detail: string | null;
  /** Credential-like values redacted. */
  headers: Record<string, string>;
  bodySize: number | null;
  requestId: string | null;
}

export interface RejectionRecord extends Rejection {
  id: string;
  at: Date;
}
