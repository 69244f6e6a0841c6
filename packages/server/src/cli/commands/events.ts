import type { EventFilter, EventRecord, EventSummary } from "@keel/engine";
import { EVENT_STATUSES } from "@keel/protocol/names";
import { type Command, InvalidArgumentError, Option } from "commander";
import { presentTarget } from "../../api/present.js";
import { redactHeaders } from "../../intake/headers.js";
import { EXIT, OperatorError } from "../exit-codes.js";
import { clean, fields, table, time } from "../output.js";
import { ProgressBar } from "../progress.js";
import { type JsonFlag, runOperator } from "../run.js";
import { group, leaf } from "./command.js";

const BODY_SHOWN = 2000;

interface FilterFlags extends JsonFlag {
  source?: string;
  type?: string;
  status?: EventFilter["status"];
  since?: string;
  until?: string;
}

/** `keel events list|show|replay`. */
export function eventsCommand(): Command {
  const events = group("events", "Webhook events received by sources: list, inspect, replay.");

  filterOptions(leaf(events, "list", "Events newest first, a page at a time."))
    .option("--limit <n>", "events per page, 1 to 1000", pageSize, 50)
    .option("--cursor <id>", "the page after this event id (printed as the next cursor)", eventId)
    .action((flags: FilterFlags & { limit: number; cursor?: string }) =>
      runOperator(flags, async ({ engine }, out) => {
        const page = await engine.intake.events.list(
          { ...filterOf(flags), before: flags.cursor },
          flags.limit,
        );
        const nextCursor = page.length === flags.limit ? (page.at(-1)?.id ?? null) : null;
        out.result({ events: page, nextCursor }, () => {
          if (page.length === 0) return flags.cursor ? "No more events." : "No events match.";
          const next = nextCursor ? `\n\nNext page: keel events list --cursor ${nextCursor}` : "";
          return `${eventTable(page)}${next}`;
        });
      }),
    );

  leaf(events, "show <id>", "One event: raw body, headers (credentials redacted), verification, deliveries.")
    .option("--full", "print the whole body, however long")
    .action((id: string, flags: JsonFlag & { full?: boolean }) =>
      runOperator(flags, async ({ engine }, out) => {
        const stored = await engine.intake.events.get(id);
        const deliveries = stored.deliveries.map((j) => ({ ...j, target: presentTarget(j.target) }));
        const event = { ...stored, deliveries };
        const headers = redactHeaders(event.headers);
        out.result({ ...event, headers, body: event.body.toString("base64"), bodyEncoding: "base64" }, () =>
          describeEvent(event, headers, flags.full === true),
        );
      }),
    );

  filterOptions(
    leaf(
      events,
      "replay [id]",
      "Route one event, or every event matching the filters, again through its source's current routes (a progress bar on a terminal).",
    ),
  ).action((id: string | undefined, flags: FilterFlags) =>
    runOperator(flags, async (session, out) => {
      const { engine } = session;
      const filter = filterOf(flags);
      if (id !== undefined) {
        const result = await engine.intake.events.replay(eventId(id), session.as);
        out.result(result, () =>
          result.jobs.length === 0
            ? `Event ${result.id} matches none of its source's routes now: no job was made.`
            : `Event ${result.id} replayed: job${result.jobs.length > 1 ? "s" : ""} ${result.jobs.join(", ")}.`,
        );
        return;
      }
      if (Object.values(filter).every((v) => v === undefined)) {
        throw new OperatorError(
          "invalid_argument",
          "Give an event id, or at least one filter (--source, --type, --status, --since, --until).",
          EXIT.usage,
        );
      }
      const total = await engine.intake.events.count(filter);
      const bar =
        !out.json && process.stdout.isTTY && process.stderr.isTTY && total > 0
          ? new ProgressBar(process.stderr, total, "replaying events")
          : undefined;
      bar?.update(0);
      let result: Awaited<ReturnType<typeof engine.intake.events.replayMany>>;
      try {
        result = await engine.intake.events.replayMany(filter, {
          ...session.as,
          onProgress: (n) => bar?.update(n),
        });
      } finally {
        bar?.clear();
      }
      const { nextCursor: _done, ...summary } = result;
      out.result(summary, () => {
        if (summary.replayed === 0 && summary.skipped === 0) return "No events match.";
        const skipped = summary.skipped ? ` ${summary.skipped} skipped: their source no longer exists.` : "";
        return `Replayed ${summary.replayed} events: ${summary.jobs} jobs made.${skipped}`;
      });
    }),
  );

  return events;
}

function filterOptions(command: Command): Command {
  return command
    .option("--source <name>", "only this source")
    .option("--type <type>", "only this event type; * matches anything (customer.subscription.*)")
    .addOption(new Option("--status <status>", "only events in this status").choices(EVENT_STATUSES))
    .option("--since <time>", "received at or after (ISO 8601)", isoTime)
    .option("--until <time>", "received before (ISO 8601)", isoTime);
}

function filterOf(flags: FilterFlags): EventFilter {
  const filter: EventFilter = {
    source: flags.source,
    type: flags.type,
    status: flags.status,
    since: flags.since,
    until: flags.until,
  };
  return Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined));
}

function eventId(value: string): string {
  if (!/^[1-9][0-9]{0,18}$/.test(value)) throw new InvalidArgumentError("Use an event id (digits).");
  return value;
}

function isoTime(value: string): string {
  if (Number.isNaN(Date.parse(value)))
    throw new InvalidArgumentError("Use an ISO 8601 time (2025-05-01T09:00:00Z).");
  return value;
}

function pageSize(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 1000)
    throw new InvalidArgumentError("Use a whole number from 1 to 1000.");
  return n;
}

function eventTable(page: EventSummary[]): string {
  return table(page, [
    { header: "ID", value: (e) => e.id, align: "right" },
    { header: "SOURCE", value: (e) => e.source },
    { header: "TYPE", value: (e) => e.type, max: 40 },
    { header: "STATUS", value: (e) => e.status },
    { header: "JOBS", value: (e) => e.jobsCreated, align: "right" },
    { header: "SIZE", value: (e) => e.size, align: "right" },
    { header: "RECEIVED", value: (e) => time(e.receivedAt) },
    { header: "EVENT ID", value: (e) => e.eventId, max: 40 },
  ]);
}

function describeEvent(event: EventRecord, headers: Record<string, string>, full: boolean): string {
  const text = new TextDecoder().decode(event.body);
  const body =
    full || text.length <= BODY_SHOWN
      ? text
      : `${text.slice(0, BODY_SHOWN)}… (${event.size} bytes; --full or --json shows all)`;
  const v = event.verification;
  const head = fields([
    ["id", event.id],
    ["source", event.source],
    ["event id", event.eventId],
    ["type", event.type],
    ["status", event.status],
    ["received", time(event.receivedAt)],
    [
      "verified",
      `${v.provider}, secret #${v.secret}${v.timestamp ? `, signed at ${time(v.timestamp)}` : ""}`,
    ],
    ["replays", event.replays || null],
    ["content type", event.contentType],
    ["size", `${event.size} bytes`],
  ]);
  const headerLines = Object.entries(headers)
    .map(([name, value]) => `  ${name}: ${clean(value)}`)
    .join("\n");
  const deliveries =
    event.deliveries.length === 0
      ? "No deliveries: no route matched."
      : table(event.deliveries, [
          { header: "JOB", value: (j) => j.id, align: "right" },
          { header: "QUEUE", value: (j) => j.queue },
          { header: "STATE", value: (j) => j.state },
          { header: "ATTEMPTS", value: (j) => `${j.attempt}/${j.maxAttempts}`, align: "right" },
          {
            header: "TARGET",
            value: (j) => ("handler" in j.target ? `handler ${j.target.handler}` : j.target.url),
            max: 50,
          },
          { header: "LAST ERROR", value: (j) => j.lastError?.message, max: 50 },
        ]);
  const bodyLines = body.split("\n").map(clean).join("\n");
  return `${head}\n\nheaders:\n${headerLines}\n\nbody:\n${bodyLines}\n\n${deliveries}`;
}
