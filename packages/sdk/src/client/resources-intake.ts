import { type Call, pages } from "./call.js";
import type { CallOptions } from "./transport.js";
import type {
  EventPage,
  EventReplayed,
  EventSummary,
  EventsReplayed,
  IntakeEvent,
  ListEventsQuery,
  ReplayEventsInput,
  Source,
  SourceInput,
  SourceRejection,
} from "./types-intake.js";

/** `/v1/events`: webhook events received by Keel's intake. */
export class EventsApi {
  constructor(private readonly call: Call) {}

  /** One page, newest first. */
  list(query: ListEventsQuery = {}, options: CallOptions = {}): Promise<EventPage> {
    return this.call("listEvents", { query: { ...query }, ...options });
  }

  iterate(
    query: Omit<ListEventsQuery, "cursor"> = {},
    options: CallOptions = {},
  ): AsyncGenerator<EventSummary> {
    return pages(
      (cursor) => this.list({ ...query, cursor }, options),
      (page) => page.events,
    );
  }

  /** An event with its raw body, headers, verification and deliveries. */
  get(id: string, options: CallOptions = {}): Promise<IntakeEvent> {
    return this.call("getEvent", { params: { id }, ...options });
  }

  /** Routes the event again through its source's current routes (new jobs each time). */
  replay(id: string, options: CallOptions = {}): Promise<EventReplayed> {
    return this.call("replayEvent", { params: { id }, ...options });
  }

  /**
   * Replays every event matching a filter (at least one), up to `limit` per call.
   *
   * @example
   * await keel.events.replayMany({ source: "stripe", status: "failed", since: "2025-05-01T00:00:00Z" });
   */
  replayMany(filter: ReplayEventsInput, options: CallOptions = {}): Promise<EventsReplayed> {
    return this.call("replayEvents", { body: filter, ...options });
  }
}

/** `/v1/sources`: webhook intake endpoints (`/in/<name>`). */
export class SourcesApi {
  constructor(private readonly call: Call) {}

  async list(options: CallOptions = {}): Promise<Source[]> {
    return (await this.call<{ sources: Source[] }>("listSources", options)).sources;
  }

  get(name: string, options: CallOptions = {}): Promise<Source> {
    return this.call("getSource", { params: { name }, ...options });
  }

  /** Creates or replaces a source; its secrets are stored and never returned. */
  put(name: string, source: SourceInput, options: CallOptions = {}): Promise<Source> {
    return this.call("putSource", { params: { name }, body: source, ...options });
  }

  delete(name: string, options: CallOptions = {}): Promise<{ name: string; removed: true }> {
    return this.call("deleteSource", { params: { name }, ...options });
  }

  /** Recent refused requests (reason, redacted headers, size), newest first. */
  async rejections(name: string, limit?: number, options: CallOptions = {}): Promise<SourceRejection[]> {
    const out = await this.call<{ rejections: SourceRejection[] }>("listSourceRejections", {
      params: { name },
      query: { limit },
      ...options,
    });
    return out.rejections;
  }
}
