import { html, shellWord, time } from "../html.js";
import { actionForm, as, page, table } from "../page.js";
import { type ConsoleRoutes, done } from "../routes.js";

/** `2026-03-29 03:00 CEST`: a fire time in the schedule's own zone, its abbreviation showing DST. */
export function inZone(at: Date, timezone: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: timezone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZoneName: "short",
  }).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")} ${get("timeZoneName")}`;
}

const path = (name: string) => `/console/schedules/${encodeURIComponent(name)}`;

/** Schedules: cron, zone, the next ten fire times in that zone, recent runs; trigger, pause, resume. */
export function scheduleViews(routes: ConsoleRoutes): void {
  routes.get("/console/schedules", async (call) => {
    const schedules = await call.engine.schedules.list();
    const body = table(
      ["Schedule", "Cron", "Time zone", "Next fire", "Queue", "State"],
      schedules.map(
        (s) => html`<tr><td><a href="${path(s.name)}">${s.name}</a></td><td><code>${s.cron}</code></td>
<td>${s.timezone}</td><td>${inZone(s.nextFireAt, s.timezone)}</td><td>${s.queue}</td><td>${s.paused ? "paused" : "active"}</td></tr>`,
      ),
      "No schedules.",
    );
    return page(call, "Schedules", body, "/console/schedules");
  });

  routes.get("/console/schedules/:name", async (call, { name }) => {
    const s = await call.engine.schedules.get(name as string);
    const [next, runs] = await Promise.all([
      call.engine.schedules.nextFireTimes(s.name, 10),
      call.engine.schedules.runs(s.name, { limit: 20 }),
    ]);
    const n = shellWord(s.name);
    const body = html`
<dl class="facts">
<dt>Cron</dt><dd><code>${s.cron}</code></dd>
<dt>Time zone</dt><dd>${s.timezone}</dd>
<dt>Queue</dt><dd>${s.queue}</dd>
<dt>Missed runs</dt><dd>${s.missed}</dd>
<dt>Overlap</dt><dd>${s.overlap}</dd>
<dt>State</dt><dd>${s.paused ? "paused" : "active"}</dd>
<dt>Managed by</dt><dd>${s.managedBy}</dd>
</dl>
<h2>Next ten fire times (${s.timezone})</h2>
<ol class="fire-times">${next.map((d) => html`<li>${inZone(d, s.timezone)} <span class="muted">(${time(d)})</span></li>`)}</ol>
<h2>Actions</h2>
<div class="actions">
${actionForm(call, {
  action: `${path(s.name)}/trigger`,
  label: "Trigger now",
  command: `keel schedules trigger ${n}`,
  needed: "operate",
})}
${
  s.paused
    ? actionForm(call, {
        action: `${path(s.name)}/resume`,
        label: "Resume schedule",
        command: `keel schedules resume ${n} [--backfill latest|all]`,
        needed: "operate",
        fields: html`<label>Missed slots <select name="backfill"><option value="">skip them</option>
<option value="latest">run the latest</option><option value="all">run all</option></select></label>`,
      })
    : actionForm(call, {
        action: `${path(s.name)}/pause`,
        label: "Pause schedule",
        command: `keel schedules pause ${n}`,
        needed: "operate",
      })
}
</div>
<h2>Recent runs</h2>
${table(
  ["Fire time", "Tenant", "Kind", "Outcome", "Reason", "Job"],
  runs.map(
    (r) => html`<tr><td>${inZone(r.fireTime, s.timezone)}</td><td>${r.tenant ?? ""}</td><td>${r.kind}</td>
<td>${r.outcome}</td><td>${r.reason ?? ""}</td><td>${
      r.jobId ? html`<a href="/console/jobs/${r.jobId}">${r.jobId}</a> ${r.jobState ?? ""}` : ""
    }</td></tr>`,
  ),
  "No runs yet.",
)}`;
    return page(call, `Schedule ${s.name}`, body, "/console/schedules");
  });

  routes.post("/console/schedules/:name/trigger", "operate", async (call, { name }) => {
    const { jobs } = await call.engine.schedules.trigger(name as string, as(call));
    return done(path(name as string), "schedule.trigger", name as string, jobs.length);
  });
  routes.post("/console/schedules/:name/pause", "operate", async (call, { name }) => {
    await call.engine.schedules.pause(name as string, { ...as(call), reason: null });
    return done(path(name as string), "schedule.pause", name as string);
  });
  routes.post("/console/schedules/:name/resume", "operate", async (call, { name }, form) => {
    const backfill = form.backfill === "latest" || form.backfill === "all" ? form.backfill : undefined;
    const { backfilled } = await call.engine.schedules.resume(name as string, {
      ...as(call),
      ...(backfill ? { backfill } : {}),
    });
    return done(path(name as string), "schedule.resume", name as string, backfilled);
  });
}
