import { MAX_EVENT_ID_LENGTH } from "@keel/protocol/names";
import { auditChange } from "../audit/actions.js";
import { GroupCommit, type GroupCommitOptions } from "../db/group-commit.js";
import type { Client, MutationOptions } from "../db/mutation.js";
import type { Engine } from "../engine.js";
import { KeelError } from "../errors.js";
import { plain, plainColumns } from "../queue/insert.js";
import { type JobRow, toJobSummary } from "../queue/rows.js";
import type { EnqueueInput, JobSummary } from "../queue/types.js";
import { type EnqueueRow, validateEnqueue } from "../queue/validate.js";
import { EVENT_ID, filterValues, parseEventId, type SummaryRow, toSummary } from "./event-rows.js";
import { routeJobs } from "./routes.js";
import type {
  AcceptInput,
  AcceptResult,
  EventFilter,
  EventRecord,
  EventSummary,
  ReplayResult,
  Source,
} from "./types.js";
import { DEFAULT_RETENTION_SECONDS } from "./validate.js";

/** Raised inside a transaction when an `enqueue:<queue>` switch refused the jobs. */
class EnqueueRefused extends Error {
  constructor(readonly queue?: string) {
    super("enqueue refused by a switch");
  }
}

type Outcome = AcceptResult | { error: unknown };

/** A route's job row for an event: `ev` is the event's 1-based place in its batch's statement. */
type RoutedRow = EnqueueRow & { ev: number };

/**
 * An event ready for the batch: the fields the statement takes, its JSON columns serialised, so
 * no item can throw inside it.
 */
interface Item {
  source: Source;
  eventId: string;
  type: string | null;
  contentType: string | null;
  body: Buffer;
  headersJson: string;
  verificationJson: string;
}

/**
 * Stored webhook events: the write path (group commit of verified requests with the jobs their
 * routes make), reads, replay and retention.
 *
 * @example
 * const { id, duplicate } = await engine.intake.events.accept({ source, eventId: "evt_1", type: "invoice.paid", … });
 * const event = await engine.intake.events.get(id); // body, headers, deliveries
 */
export class Events {
  private writer: GroupCommit<Item, Outcome> | undefined;
  private commitOptions: GroupCommitOptions = {};
  // Validated route job rows per source object and event type (routedRows).
  private readonly routed = new WeakMap<Source, Map<string | null, readonly RoutedRow[]>>();

  constructor(private readonly engine: Engine) {}

  /** Batch size and transactions in flight of the write path (before the first `accept`). */
  configure(options: GroupCommitOptions): void {
    this.commitOptions = options;
    this.writer = undefined;
  }

  /** Resolves once every event submitted so far has been answered. */
  async drain(): Promise<void> {
    await this.writer?.drain();
  }

  /**
   * Stores a verified event and the jobs of the routes its type matches, in one transaction,
   * grouped with concurrent calls. Resolves after the commit. An event already stored (same
   * source and provider id) is a duplicate: nothing new is written. An event id over 255
   * characters is refused (`event_id_too_long`) before it joins a batch; an item that fails
   * inside one fails alone, and the others of its batch are written without it.
   */
  async accept(input: AcceptInput): Promise<AcceptResult> {
    this.writer ??= new GroupCommit((items) => this.write(items), this.commitOptions);
    const out = await this.writer.submit(prepare(input));
    if ("error" in out) throw out.error;
    return out;
  }

  /**
   * Writes a batch in one statement (`intake_accept`, or `intake_accept_plain` when no job has a
   * key): the events, and the jobs of those not stored before, in an implicit transaction
   * (decision 057).
   */
  private async write(items: Item[]): Promise<Outcome[]> {
    // Within a batch the first copy of an event is written; later copies are duplicates of it.
    const unique = new Map<string, Item>();
    for (const item of items) {
      const k = eventKey(item);
      if (!unique.has(k)) unique.set(k, item);
    }
    const list = [...unique.values()];
    const jobsOf = new Map<string, readonly EnqueueRow[]>();
    const rows: RoutedRow[] = [];
    const queues = new Set<string>();
    for (let ev = 0; ev < list.length; ev++) {
      const item = list[ev] as Item;
      const jobs = this.routedRows(item.source, item.type);
      jobsOf.set(eventKey(item), jobs);
      for (const row of jobs) {
        rows.push({ ...row, ord: rows.length, ev: ev + 1 });
        queues.add(row.queue);
      }
    }
    await this.engine.ensureQueues([...queues]);
    // As intake_events takes them: JSON already serialised per event joined into one array, and
    // the bodies end to end in one binary parameter (decision 065).
    const events = [
      list.map((i) => i.source.name),
      list.map((i) => i.eventId),
      list.map((i) => i.type),
      list.map((i) => i.contentType),
      `[${list.map((i) => i.headersJson).join(",")}]`,
      Buffer.concat(list.map((i) => i.body)),
      `[${list.map((i) => i.verificationJson).join(",")}]`,
      list.map((i) => jobsOf.get(eventKey(i))?.length ?? 0),
      list.map((i) => i.body.length),
    ];
    // Jobs without keys (routes without them: the usual case) take the plain statement.
    type Accepted = { ev: number; id: string | null; inserted: boolean; refused: boolean };
    const out = plain(rows)
      ? await this.engine.run<Accepted>("intake_accept_plain", [
          ...events,
          rows.map((r) => r.ev),
          ...plainColumns(rows),
        ])
      : await this.engine.run<Accepted>("intake_accept", [...events, JSON.stringify(rows)]);
    if (out[0]?.refused) return this.refused(items, jobsOf);
    const ids = new Map<string, { id: string; inserted: boolean }>();
    const missing: Item[] = [];
    for (const r of out) {
      const item = list[r.ev - 1] as Item;
      if (r.id === null) missing.push(item);
      else ids.set(eventKey(item), { id: r.id, inserted: r.inserted });
    }
    if (missing.length > 0) {
      // Stored by a transaction that committed after the statement began: visible now.
      const found = await this.engine.run<{ id: string; source: string; event_id: string }>(
        "intake_find_events",
        [missing.map((i) => i.source.name), missing.map((i) => i.eventId)],
      );
      for (const r of found) ids.set(`${r.source}\u0000${r.event_id}`, { id: r.id, inserted: false });
    }
    const first = new Set<string>();
    return items.map((item) => {
      const k = eventKey(item);
      const stored = ids.get(k);
      if (!stored) return { error: new Error(`event ${item.eventId} was neither stored nor found`) };
      const original = stored.inserted && !first.has(k);
      first.add(k);
      return { id: stored.id, duplicate: !original, jobs: original ? (jobsOf.get(k)?.length ?? 0) : 0 };
    });
  }

  /**
   * The validated job rows an event of `type` makes through `source`'s routes, their origin
   * without the event id (the statement adds it). Kept per source object and type: the same for
   * every event of a type until the source changes (the cache hands out a new object then).
   */
  private routedRows(source: Source, type: string | null): readonly RoutedRow[] {
    let byType = this.routed.get(source);
    if (!byType) {
      byType = new Map();
      this.routed.set(source, byType);
    }
    let rows = byType.get(type);
    if (!rows) {
      rows = routeJobs(source, { id: "0", type }).map((job, i) => {
        const row = this.jobRow(job, i);
        const { event: _event, ...origin } = row.origin as Record<string, unknown>;
        // With `ev` here, each batch's copy (`write`) only sets properties the row has (decision 071).
        return { ...row, origin, ev: 0 };
      });
      if (byType.size >= 1000) byType.clear();
      byType.set(type, rows);
    }
    return rows;
  }

  private jobRow(job: EnqueueInput, ord: number): EnqueueRow {
    return validateEnqueue(job, ord, { payloadLimitBytes: this.engine.payloadLimitBytes });
  }

  /** Enqueues inside the caller's transaction; a switched-off queue rolls it back. */
  private async enqueue(client: Client, rows: EnqueueRow[]): Promise<string[]> {
    if (rows.length === 0) return [];
    const made = await this.engine.runOn<{ ord: number; id: string }>(client, "enqueue", [
      JSON.stringify(rows),
    ]);
    if (made.length < rows.length) throw new EnqueueRefused();
    return made.sort((a, b) => a.ord - b.ord).map((r) => r.id);
  }

  /**
   * An `enqueue:<queue>` switch refused the batch: the events routed to a switched-off queue are
   * refused (the provider retries later, nothing is lost), the others are written again.
   */
  private async refused(items: Item[], jobsOf: Map<string, readonly EnqueueRow[]>): Promise<Outcome[]> {
    const queues = [...new Set([...jobsOf.values()].flat().map((j) => j.queue))];
    const off = await this.engine.switches.disabled(queues.map((q) => `enqueue:${q}`));
    const blocked = (item: Item) =>
      (jobsOf.get(eventKey(item)) ?? []).map((j) => j.queue).find((q) => off.has(`enqueue:${q}`));
    const rest = items.filter((i) => blocked(i) === undefined);
    const written = rest.length > 0 ? await this.write(rest) : [];
    return items.map((item) => {
      const queue = blocked(item);
      if (queue !== undefined) return { error: new KeelError("enqueue_disabled", { queue }) };
      return written.shift() as Outcome;
    });
  }

  /** One event with its raw body, headers and the jobs it made. Throws `event_not_found`. */
  async get(id: string): Promise<EventRecord> {
    const eventId = parseEventId(id);
    const [row] = await this.engine.run<SummaryRow & { headers: Record<string, string>; body: Buffer }>(
      "intake_get_event",
      [eventId],
    );
    if (!row) throw new KeelError("event_not_found", { id: eventId });
    return { ...toSummary(row), headers: row.headers, body: row.body, deliveries: await this.jobs(eventId) };
  }

  /** The jobs an event made, oldest first. */
  async jobs(id: string): Promise<JobSummary[]> {
    const rows = await this.engine.run<JobRow>("intake_event_jobs", [parseEventId(id)]);
    return rows.map(toJobSummary);
  }

  /** What a delivery of the event forwards; null once retention removed it. */
  async payload(id: string): Promise<{
    source: string;
    contentType: string | null;
    headers: Record<string, string>;
    body: Buffer;
  } | null> {
    if (!EVENT_ID.test(String(id))) return null;
    const [row] = await this.engine.run<{
      source: string;
      content_type: string | null;
      headers: Record<string, string>;
      body: Buffer;
    }>("intake_event_payload", [id]);
    return row
      ? { source: row.source, contentType: row.content_type, headers: row.headers, body: row.body }
      : null;
  }

  /** Events newest first, `limit` at a time; pass the last id as `before` for the next page. */
  async list(filter: EventFilter = {}, limit = 50): Promise<EventSummary[]> {
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new KeelError("invalid_argument", { detail: "limit: a whole number from 1 to 1000" });
    }
    const rows = await this.engine.run<SummaryRow>("intake_list_events", [...filterValues(filter), limit]);
    return rows.map(toSummary);
  }

  /** How many events match the filter (a bulk replay's total). */
  async count(filter: EventFilter = {}): Promise<number> {
    const [row] = await this.engine.run<{ n: number }>("intake_count_events", filterValues(filter));
    return row?.n ?? 0;
  }

  /**
   * Routes a stored event again through its source's current routes: new jobs, new deliveries.
   * The jobs and the `event.replay` audit row commit together (the caller's transaction with `client`).
   */
  async replay(id: string, options: MutationOptions = {}): Promise<ReplayResult> {
    const eventId = parseEventId(id);
    return this.inReplay(options, async (client) => {
      const [result] = await this.replayIds(client, [eventId], new Map(), true);
      if (!result) throw new KeelError("event_not_found", { id: eventId });
      await this.engine.writeAudit(
        client,
        options,
        auditChange("event.replay", `event:${result.id}`, { jobs: result.jobs.length }),
      );
      return result;
    });
  }

  /**
   * Replays every event matching the filter, newest first, at most `limit` events, all in one
   * transaction with one `event.replay_bulk` audit row (all or nothing, like `retryDead`).
   * `nextCursor` is set when the limit stopped it: pass it as `before` to go on.
   */
  async replayMany(
    filter: Omit<EventFilter, "before"> & { before?: string },
    options: MutationOptions & { limit?: number; onProgress?: (replayed: number) => void } = {},
  ): Promise<{ replayed: number; skipped: number; jobs: number; nextCursor: string | null }> {
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const sources = new Map<string, Source | null>();
    return this.inReplay(options, async (client) => {
      let before = filter.before;
      let replayed = 0;
      let skipped = 0;
      let jobs = 0;
      let nextCursor: string | null = null;
      while (replayed + skipped < limit) {
        const pageSize = Math.min(200, limit - replayed - skipped);
        const page = await this.engine.runOn<SummaryRow>(client, "intake_list_events", [
          ...filterValues({ ...filter, before }),
          pageSize,
        ]);
        if (page.length === 0) break;
        const results = await this.replayIds(
          client,
          page.map((e) => e.id),
          sources,
          false,
        );
        replayed += results.length;
        skipped += page.length - results.length;
        jobs += results.reduce((n, r) => n + r.jobs.length, 0);
        before = page.at(-1)?.id;
        options.onProgress?.(replayed);
        if (replayed + skipped >= limit) nextCursor = before ?? null;
      }
      await this.engine.writeAudit(
        client,
        options,
        auditChange("event.replay_bulk", filter.source ? `source:${filter.source}` : null, {
          filter: JSON.parse(JSON.stringify(filter)) as Record<string, unknown>,
          replayed,
          skipped,
          jobs,
        }),
      );
      return { replayed, skipped, jobs, nextCursor };
    });
  }

  /**
   * Runs a replay in one transaction (the caller's with `client`). A switched-off queue refuses
   * it with `enqueue_disabled`, naming the queue.
   */
  private async inReplay<T>(options: MutationOptions, fn: (client: Client) => Promise<T>): Promise<T> {
    try {
      return await this.engine.transaction(fn, options);
    } catch (err) {
      if (!(err instanceof EnqueueRefused)) throw err;
      throw new KeelError("enqueue_disabled", { queue: err.queue });
    }
  }

  /** Routes the events again on `client`; events whose source is gone are skipped (or, alone, refused). */
  private async replayIds(
    client: Client,
    ids: string[],
    sources: Map<string, Source | null>,
    strict: boolean,
  ): Promise<ReplayResult[]> {
    const events = await this.engine.runOn<{ id: string; source: string; type: string | null }>(
      client,
      "intake_event_meta",
      [ids],
    );
    const routed: { id: string; jobs: EnqueueInput[] }[] = [];
    for (const e of events) {
      if (!sources.has(e.source)) {
        sources.set(e.source, await this.engine.intake.sources.get(e.source, client).catch(() => null));
      }
      const source = sources.get(e.source);
      if (!source) {
        if (strict) throw new KeelError("source_not_found", { source: e.source });
        continue;
      }
      routed.push({ id: e.id, jobs: routeJobs(source, e) });
    }
    const rows: EnqueueRow[] = [];
    for (const r of routed) for (const job of r.jobs) rows.push(this.jobRow(job, rows.length));
    await this.engine.ensureQueues(
      rows.map((r) => r.queue),
      client,
    );
    let made: string[];
    try {
      made = await this.enqueue(client, rows);
    } catch (err) {
      if (!(err instanceof EnqueueRefused)) throw err;
      // The statement wrote nothing and raised nothing: the transaction can still say which switch.
      const off = await this.engine.runOn<{ name: string }>(client, "disabled_switches", [
        rows.map((r) => `enqueue:${r.queue}`),
      ]);
      const names = new Set(off.map((r) => r.name));
      throw new EnqueueRefused(rows.find((r) => names.has(`enqueue:${r.queue}`))?.queue ?? rows[0]?.queue);
    }
    await this.engine.runOn(client, "intake_mark_routed", [
      routed.map((r) => r.id),
      routed.map((r) => r.jobs.length),
    ]);
    return routed.map((r) => ({ id: r.id, jobs: made.splice(0, r.jobs.length) }));
  }

  /**
   * Deletes events past their source's retention (30 days for sources removed since), in
   * batches of the oldest. Call through the engine's maintenance (once across replicas).
   */
  async expire(batch = 5_000): Promise<number> {
    const sources = await this.engine.run<{ source: string; retention_seconds: number }>(
      "intake_event_sources",
      [DEFAULT_RETENTION_SECONDS],
    );
    let deleted = 0;
    for (const s of sources) {
      for (;;) {
        const [row] = await this.engine.run<{ deleted: number }>("intake_expire_events", [
          s.source,
          s.retention_seconds,
          batch,
        ]);
        const n = row?.deleted ?? 0;
        deleted += n;
        if (n < batch) break;
      }
    }
    return deleted;
  }
}

/** An event's dedupe key: its source and the provider's id. */
function eventKey(item: Pick<AcceptInput, "source" | "eventId">): string {
  return `${item.source.name}\u0000${item.eventId}`;
}

/** Checks what one event alone can get wrong, so that it fails before joining a batch. */
function prepare(input: AcceptInput): Item {
  const { eventId } = input;
  if (typeof eventId !== "string" || eventId.length === 0) {
    throw new KeelError("invalid_argument", { detail: "eventId: a non-empty string" });
  }
  if (eventId.length > MAX_EVENT_ID_LENGTH) {
    throw new KeelError("event_id_too_long", {
      source: input.source.name,
      length: eventId.length,
      limit: MAX_EVENT_ID_LENGTH,
    });
  }
  let headersJson: string;
  let verificationJson: string;
  try {
    headersJson = JSON.stringify(input.headers);
    verificationJson = JSON.stringify(input.verification);
  } catch (err) {
    throw new KeelError("invalid_argument", { detail: `headers or verification: ${(err as Error).message}` });
  }
  // Each is an element of one JSON array in the statement: anything but an object would break
  // the whole batch's array (or store a scalar), so it fails here, alone.
  if (!headersJson?.startsWith("{") || !verificationJson?.startsWith("{")) {
    throw new KeelError("invalid_argument", { detail: "headers and verification: objects" });
  }
  if (!Buffer.isBuffer(input.body)) throw new KeelError("invalid_argument", { detail: "body: a Buffer" });
  // Named field by field: on Node 20 a literal that spreads an object and then adds properties
  // costs 1–3 µs, a hundred times this (decision 071).
  return {
    source: input.source,
    eventId,
    type: input.type,
    contentType: input.contentType,
    body: input.body,
    headersJson,
    verificationJson,
  };
}
