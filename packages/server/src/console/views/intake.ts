import { EVENT_STATUSES, type EventStatus, type JobTarget, KeelError } from "@keel/engine";
import { presentEvent, presentEventSummary, presentSource } from "../../api/present-intake.js";
import { may } from "../auth.js";
import { html, shellWord, time } from "../html.js";
import { actionForm, as, nextLink, page, table } from "../page.js";
import { type ConsoleRoutes, done } from "../routes.js";

const targetText = (t: JobTarget) => ("url" in t ? `${t.method ?? "POST"} ${t.url}` : `handler ${t.handler}`);

/** Events replayed by one bulk replay from the console, at most (the API's default too). */
const BULK_REPLAY_LIMIT = 1000;

function eventFilter(fields: Record<string, string | undefined>): { source?: string; status?: EventStatus } {
  const source = fields.source || undefined;
  const status = EVENT_STATUSES.includes(fields.status as EventStatus)
    ? (fields.status as EventStatus)
    : undefined;
  return { ...(source ? { source } : {}), ...(status ? { status } : {}) };
}

function filterQuery(source: string | undefined, status: string | undefined): string {
  return new URLSearchParams({ ...(source ? { source } : {}), ...(status ? { status } : {}) }).toString();
}

/** Intake: sources, events (by source and status, keyset on the id), an event with its jobs; replay. */
export function intakeViews(routes: ConsoleRoutes, env: NodeJS.ProcessEnv): void {
  routes.get("/console/intake", async (call, _params, query) => {
    const source = query.source || undefined;
    const status = EVENT_STATUSES.includes(query.status as EventStatus)
      ? (query.status as EventStatus)
      : undefined;
    const limit = 50;
    const [sources, events] = await Promise.all([
      call.engine.intake.sources.list(),
      call.engine.intake.events.list(
        {
          ...(source ? { source } : {}),
          ...(status ? { status } : {}),
          ...(query.cursor ? { before: query.cursor } : {}),
        },
        limit,
      ),
    ]);
    const cursor = events.length === limit ? (events.at(-1)?.id ?? null) : null;
    const body = html`<h2>Sources</h2>
${table(
  ["Source", "Provider", "URL", "Routes", "Secrets", "Managed by"],
  sources
    .map((s) => presentSource(s, env))
    .map(
      (
        s,
      ) => html`<tr><td><a href="/console/intake/sources/${encodeURIComponent(s.name)}">${s.name}</a></td><td>${s.provider}</td>
<td><code>${s.url}</code></td><td>${s.routes.length}</td><td>${s.secrets.map((x) => x.fingerprint ?? "unset").join(", ")}</td><td>${s.managedBy}</td></tr>`,
    ),
  "No sources.",
)}
<h2>Events</h2>
<form method="get" action="/console/intake" class="filters">
<label>Source <input name="source" value="${source ?? ""}"></label>
<label>Status <select name="status"><option value="">any</option>${EVENT_STATUSES.map(
      (s) => html`<option${s === status ? html` selected` : ""}>${s}</option>`,
    )}</select></label>
<button type="submit">Filter</button></form>
${table(
  ["Id", "Source", "Type", "Provider id", "Status", "Jobs", "Replays", "Received"],
  events.map(presentEventSummary).map(
    (
      e,
    ) => html`<tr><td><a href="/console/intake/events/${e.id}">${e.id}</a></td><td>${e.source}</td><td>${e.type ?? ""}</td>
<td>${e.eventId ?? ""}</td><td>${e.status}</td><td>${e.jobsCreated}</td><td>${e.replays}</td><td>${time(e.receivedAt)}</td></tr>`,
  ),
  "No events match.",
)}${nextLink(call, cursor)}
${
  may(call.session.role, "operate") && events.length > 0 && (source || status)
    ? html`<p><a class="button" href="/console/intake/replay?${filterQuery(source, status)}">Replay the events that match…</a></p>`
    : ""
}`;
    return page(call, "Intake", body, "/console/intake");
  });

  // Replay by filter: a dry-run count first, then one transaction with one audit row (like the CLI).
  routes.get(
    "/console/intake/replay",
    async (call, _params, query) => {
      const { source, status } = eventFilter(query);
      if (!source && !status) {
        const hint = html`<p>Filter the events by source or status first: a bulk replay needs one.</p>`;
        return page(call, "Replay events", hint, "/console/intake");
      }
      const matching = await call.engine.intake.events.count({
        ...(source ? { source } : {}),
        ...(status ? { status } : {}),
      });
      const flags = [source ? `--source ${shellWord(source)}` : "", status ? `--status ${status}` : ""]
        .filter(Boolean)
        .join(" ");
      const body = html`<p>Dry run: <strong>${matching}</strong> event(s) match${
        source ? ` source ${source}` : ""
      }${status ? ` with status ${status}` : ""}; at most ${BULK_REPLAY_LIMIT} are replayed at a time, newest first.</p>
${actionForm(call, {
  action: "/console/intake/replay",
  label: `Replay ${Math.min(matching, BULK_REPLAY_LIMIT)} event(s)`,
  command: `keel events replay ${flags}`.trim(),
  needed: "operate",
  confirm: `Replay ${Math.min(matching, BULK_REPLAY_LIMIT)} events?`,
  fields: html`<input type="hidden" name="source" value="${source ?? ""}"><input type="hidden" name="status" value="${status ?? ""}">`,
})}
<p><a href="/console/intake?${filterQuery(source, status)}">Back to the events</a></p>`;
      return page(call, "Replay events", body, "/console/intake");
    },
    "operate",
  );

  routes.post("/console/intake/replay", "operate", async (call, _params, form) => {
    const { source, status } = eventFilter(form);
    if (!source && !status) {
      throw new KeelError("invalid_argument", { detail: "a bulk replay needs a source or a status filter" });
    }
    const result = await call.engine.intake.events.replayMany(
      { ...(source ? { source } : {}), ...(status ? { status } : {}) },
      { ...as(call), limit: BULK_REPLAY_LIMIT },
    );
    return done(
      `/console/intake?${filterQuery(source, status)}`,
      "event.replay_bulk",
      source ?? "every source",
      result.replayed,
    );
  });

  routes.get("/console/intake/sources/:name", async (call, { name }) => {
    const source = presentSource(await call.engine.intake.sources.get(name as string), env);
    const rejections = await call.engine.intake.sources.rejections(source.name, 50);
    const body = html`<dl class="facts">
<dt>Provider</dt><dd>${source.provider}</dd><dt>URL</dt><dd><code>${source.url}</code></dd>
<dt>Secrets</dt><dd>${source.secrets.map((x) => `${x.reference ?? "stored"} (${x.fingerprint ?? "unset"})`).join(", ")}</dd>
<dt>Managed by</dt><dd>${source.managedBy}</dd>
</dl>
<h2>Routes</h2>
${table(
  ["Events", "Queue", "Target"],
  source.routes.map(
    (r) =>
      html`<tr><td>${(r.events ?? ["*"]).join(", ")}</td><td>${r.queue ?? "default"}</td><td><code>${targetText(r.target as JobTarget)}</code></td></tr>`,
  ),
  "No routes: events are stored, not delivered.",
)}
<p><a href="/console/intake?source=${encodeURIComponent(source.name)}">Events of ${source.name}</a></p>
<h2>Recent verification failures</h2>
${table(
  ["At", "Reason", "Detail", "Body size", "Request id"],
  rejections.map(
    (r) =>
      html`<tr><td>${time(r.at)}</td><td>${r.reason}</td><td>${r.detail ?? ""}</td><td>${r.bodySize}</td><td>${r.requestId ?? ""}</td></tr>`,
  ),
  "None.",
)}
<p><code class="cmd">keel sources rejections ${source.name}</code></p>`;
    return page(call, `Source ${source.name}`, body, "/console/intake");
  });

  routes.get("/console/intake/events/:id", async (call, { id }) => {
    const e = presentEvent(await call.engine.intake.events.get(id as string));
    const showBody = may(call.session.role, "operate");
    const body = html`
<dl class="facts">
<dt>Source</dt><dd>${e.source}</dd><dt>Type</dt><dd>${e.type ?? "—"}</dd>
<dt>Provider id</dt><dd>${e.eventId ?? "—"}</dd><dt>Status</dt><dd>${e.status}</dd>
<dt>Received</dt><dd>${time(e.receivedAt)}</dd><dt>Replays</dt><dd>${e.replays}</dd>
</dl>
<h2>Payload</h2>
${
  showBody
    ? html`<pre class="payload">${e.body}</pre>`
    : html`<p class="muted">Redacted for the read role. <code class="cmd">keel events show ${e.id} --full</code></p>`
}
<h2>Jobs made</h2>
${table(
  ["Job", "Queue", "State"],
  e.deliveries.map(
    (j) =>
      html`<tr><td><a href="/console/jobs/${j.id}">${j.id}</a></td><td>${j.queue}</td><td>${j.state}</td></tr>`,
  ),
  "No jobs.",
)}
<h2>Actions</h2>
${actionForm(call, {
  action: `/console/intake/events/${e.id}/replay`,
  label: "Replay event",
  command: `keel events replay ${e.id}`,
  needed: "operate",
})}`;
    return page(call, `Event ${e.id}`, body, "/console/intake");
  });

  routes.post("/console/intake/events/:id/replay", "operate", async (call, { id }) => {
    const result = await call.engine.intake.events.replay(id as string, as(call));
    return done(
      `/console/intake/events/${encodeURIComponent(id as string)}`,
      "event.replay",
      id as string,
      result.jobs.length,
    );
  });
}
