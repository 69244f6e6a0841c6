import type * as C from "@keel/protocol/contracts";
import type { Input, Output, Query, RequestBody, ResponseBody } from "@keel/protocol/contracts";

// The shapes of /v1/events and /v1/sources, derived from the protocol's contracts like types.ts.

export type { EventStatus, Provider } from "@keel/protocol/names";

/** Where an event's id or type is read: a header, or a dotted path in the JSON body. */
export type EventField = Input<typeof C.EventField>;
/** `secret`: which of the source's secrets matched (1 = first). */
export type EventVerification = Output<typeof C.Verification>;
export type EventSummary = Output<typeof C.EventSummary>;
/** An event with what was received (`body` is base64 when `bodyEncoding` says so) and the jobs it made. */
export type IntakeEvent = ResponseBody<typeof C.getEvent, 200>;

export type ListEventsQuery = Query<typeof C.listEvents>;
/** `type`: an event type, or a pattern where `*` matches anything; `since`/`until`: ISO 8601. */
export type EventFilter = Pick<ListEventsQuery, "source" | "type" | "status" | "since" | "until">;
export type EventPage = ResponseBody<typeof C.listEvents, 200>;
/** At least one filter is required (the server refuses an empty one). */
export type ReplayEventsInput = RequestBody<typeof C.replayEvents>;
/** `skipped`: events whose source no longer exists. */
export type EventsReplayed = ResponseBody<typeof C.replayEvents, 200>;
export type EventReplayed = ResponseBody<typeof C.replayEvent, 200>;

/** `events`: type patterns, `*` matches any run of characters (default ["*"]); `queue`: default `intake`. */
export type SourceRoute = Input<typeof C.Route>;
/** `PUT /v1/sources/:name`: the whole definition, secrets included (never returned). */
export type SourceInput = RequestBody<typeof C.putSource>;
export type Source = Output<typeof C.Source>;
/** A refused intake request: never its body. */
export type SourceRejection = Output<typeof C.Rejection>;
