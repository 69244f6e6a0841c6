import type { JobState } from "@keel/engine";
import { presentJob, presentSummary } from "../../api/present.js";
import { may } from "../auth.js";
import { html, json, shellWord, time } from "../html.js";
import { actionForm, as, nextLink, page, table } from "../page.js";
import { type ConsoleRoutes, done } from "../routes.js";
import { timeRangeFields, timeRangeFlags, timeRangeOf } from "../time-range.js";

/** ` --name value` for a filter that is set, the value quoted for a shell. */
const flag = (name: string, value: string | undefined) => (value ? ` ${name} ${shellWord(value)}` : "");

const STATES: JobState[] = ["scheduled", "available", "running", "succeeded", "dead", "cancelled"];
const UNFINISHED: JobState[] = ["scheduled", "available", "running"];

type Target = ReturnType<typeof presentSummary>["target"];
const targetText = (t: Target) => ("url" in t ? `${t.method ?? "POST"} ${t.url}` : `handler ${t.handler}`);

/**
 * Jobs: newest first by queue, state, tenant, handler, target host, dedupe key and creation time
 * (keyset on the id; a queue's finished jobs in finish order, decision 083); a job's page with
 * its attempts.
 */
export function jobViews(routes: ConsoleRoutes): void {
  routes.get("/console/jobs", async (call, _params, query) => {
    const queue = query.queue || undefined;
    const tenant = query.tenant || undefined;
    const handler = query.handler || undefined;
    const host = query.host || undefined;
    const dedupeKey = query.dedupe_key || undefined;
    const range = timeRangeOf(query);
    const state = STATES.includes(query.state as JobState) ? (query.state as JobState) : undefined;
    const limit = 50;
    const listed = await call.engine.listJobsPage({
      ...(queue ? { queue } : {}),
      ...(state ? { state } : {}),
      ...(tenant ? { tenant } : {}),
      ...(handler ? { handler } : {}),
      ...(host ? { host } : {}),
      ...(dedupeKey ? { dedupeKey } : {}),
      ...(range.from ? { createdFrom: range.from } : {}),
      ...(range.to ? { createdTo: range.to } : {}),
      ...(query.cursor ? { before: query.cursor } : {}),
      limit,
    });
    const jobs = listed.jobs.map(presentSummary);
    const filters = html`<form method="get" action="/console/jobs" class="filters">
<label>Queue <input name="queue" value="${queue ?? ""}"></label>
<label>Tenant <input name="tenant" value="${tenant ?? ""}"></label>
<label>Handler <input name="handler" value="${handler ?? ""}" placeholder="sendEmail, @http"></label>
<label>Target host <input name="host" value="${host ?? ""}" placeholder="api.example.com"></label>
<label>Dedupe key <input name="dedupe_key" value="${dedupeKey ?? ""}"></label>
${timeRangeFields(range, "Created")}
<label>State <select name="state"><option value="">any</option>${STATES.map(
      (s) => html`<option${s === state ? html` selected` : ""}>${s}</option>`,
    )}</select></label>
<button type="submit">Filter</button></form>`;
    const rows = jobs.map(
      (j) => html`<tr><td><a href="/console/jobs/${j.id}">${j.id}</a></td><td>${j.queue}</td>
<td>${j.state}</td><td>${j.attempt}/${j.maxAttempts}</td><td>${targetText(j.target)}</td>
<td>${j.tenant ?? ""}</td><td>${j.lastError?.message ?? ""}</td><td>${time(j.createdAt)}</td></tr>`,
    );
    const cursor = listed.nextCursor;
    const body = html`${filters}${table(
      ["Id", "Queue", "State", "Attempt", "Target", "Tenant", "Last error", "Created"],
      rows,
      "No jobs match.",
    )}${nextLink(call, cursor)}<p><code class="cmd">keel jobs list${flag("--queue", queue)}${flag("--state", state)}${flag("--tenant", tenant)}${flag(
      "--handler",
      handler,
    )}${flag("--host", host)}${flag("--dedupe-key", dedupeKey)}${timeRangeFlags(range, "--created-from", "--created-to")}</code></p>`;
    return page(call, "Jobs", body, "/console/jobs");
  });

  routes.get("/console/jobs/:id", async (call, { id }) => {
    const j = presentJob(await call.engine.getJob(id as string));
    const showPayload = may(call.session.role, "operate");
    const o = j.origin;
    const origin = !o
      ? "—"
      : o.schedule
        ? html`schedule <a href="/console/schedules/${encodeURIComponent(o.schedule)}">${o.schedule}</a>, slot ${o.fireTime ?? "?"} (${o.trigger ?? "cron"})`
        : o.event
          ? html`event <a href="/console/intake/events/${o.event}">${o.event}</a> of source ${o.source ?? "?"}`
          : html`<pre>${json(o)}</pre>`;
    const body = html`
<dl class="facts">
<dt>Queue</dt><dd><a href="/console/queues/${encodeURIComponent(j.queue)}">${j.queue}</a></dd>
<dt>State</dt><dd>${j.state}</dd>
<dt>Attempt</dt><dd>${j.attempt} of ${j.maxAttempts}</dd>
<dt>Target</dt><dd><code>${targetText(j.target)}</code></dd>
<dt>Tenant</dt><dd>${j.tenant ?? "—"}</dd>
<dt>Dedupe key</dt><dd>${j.dedupeKey ?? "—"}</dd>
<dt>Run at</dt><dd>${time(j.runAt)}</dd>
<dt>Created</dt><dd>${time(j.createdAt)}</dd>
<dt>Finished</dt><dd>${time(j.finishedAt)}</dd>
<dt>Origin</dt><dd>${origin}</dd>
</dl>
<h2>Payload</h2>
${
  showPayload
    ? html`<pre class="payload">${json(j.payload)}</pre>`
    : html`<p class="muted">Redacted for the read role. <code class="cmd">keel jobs get ${j.id}</code></p>`
}
<h2>Attempts</h2>
${table(
  ["#", "Outcome", "Worker", "Started", "Duration", "HTTP", "Latency", "Error / response"],
  j.attempts.map(
    (
      a,
    ) => html`<tr><td>${a.attempt}</td><td>${a.outcome}</td><td>${a.workerId ?? ""}</td><td>${time(a.startedAt)}</td>
<td>${Date.parse(a.finishedAt) - Date.parse(a.startedAt)} ms</td><td>${a.responseStatus ?? ""}</td>
<td>${a.latencyMs === null ? "" : `${a.latencyMs} ms`}</td>
<td>${a.error ? `${a.error.code ?? a.error.name ?? "error"}: ${a.error.message}` : ""}${
      a.responseBody && showPayload ? html`<pre>${a.responseBody.slice(0, 500)}</pre>` : ""
    }</td></tr>`,
  ),
  "No attempts yet.",
)}
<h2>Actions</h2>
<div class="actions">
${
  j.state === "dead" || j.state === "cancelled"
    ? actionForm(call, {
        action: `/console/jobs/${j.id}/retry`,
        label: "Retry job",
        command: `keel jobs retry ${j.id}`,
        needed: "operate",
      })
    : ""
}
${
  UNFINISHED.includes(j.state as JobState)
    ? actionForm(call, {
        action: `/console/jobs/${j.id}/cancel`,
        label: "Cancel job",
        command: `keel jobs cancel ${j.id}`,
        needed: "operate",
        danger: true,
        confirm: `Cancel job ${j.id}?`,
      })
    : ""
}
</div>`;
    return page(call, `Job ${j.id}`, body, "/console/jobs");
  });

  routes.post("/console/jobs/:id/retry", "operate", async (call, { id }) => {
    await call.engine.retry(id as string, as(call));
    return done(`/console/jobs/${encodeURIComponent(id as string)}`, "job.retry", id as string);
  });
  routes.post("/console/jobs/:id/cancel", "operate", async (call, { id }) => {
    await call.engine.cancel(id as string, as(call));
    return done(`/console/jobs/${encodeURIComponent(id as string)}`, "job.cancel", id as string);
  });
}
