import { duration, html } from "../html.js";
import { count, lastHourCount, page, table } from "../page.js";
import type { ConsoleRoutes } from "../routes.js";

/** `3 (25%)`: jobs that died in the last hour and their share of the hour's finished jobs. */
function errorRate(h: { succeeded: number; dead: number }): string {
  const total = h.succeeded + h.dead;
  return total === 0 ? "0" : `${h.dead} (${Math.round((100 * h.dead) / total)}%)`;
}

/** Health, per-queue depth and oldest ready age, switches that are off, and warnings. */
export function overviewView(routes: ConsoleRoutes): void {
  routes.get("/console", async (call) => {
    const { engine } = call;
    // The same checks as GET /health (this app's own route, called in process).
    const healthRes = await call.request.server.inject({ url: "/health" });
    const health = JSON.parse(healthRes.body) as {
      status: string;
      checks?: Record<
        string,
        { status: string; observedValue?: unknown; observedUnit?: string; output?: string }[]
      >;
    };
    const [queues, switches, schedules] = await Promise.all([
      engine.queueOverview(),
      engine.switches.list(),
      engine.schedules.list(),
    ]);
    const off = switches.filter((s) => !s.enabled);
    const warnings: string[] = [];
    for (const q of queues) {
      if (q.counts.dead > 0) warnings.push(`Queue ${q.name} has ${count(q, "dead")} dead job(s).`);
      if (q.paused) warnings.push(`Queue ${q.name} is paused.`);
      if (q.oldestReadyAgeSeconds > 300)
        warnings.push(
          `Queue ${q.name}: the oldest ready job has waited ${duration(q.oldestReadyAgeSeconds)}.`,
        );
    }
    for (const s of schedules) if (s.paused) warnings.push(`Schedule ${s.name} is paused.`);
    if (health.status !== "pass") warnings.push(`Health is ${health.status}: see the checks above.`);
    for (const s of off) warnings.push(`Switch ${s.name} is off${s.reason ? ` (${s.reason})` : ""}.`);
    const body = html`
<section aria-labelledby="health"><h2 id="health">Health</h2>
<p>Status <strong class="${health.status === "pass" ? "ok" : "bad"}">${health.status}</strong> · ${queues.length} queue(s) · ${
      schedules.length
    } schedule(s) <code class="cmd">curl /health</code></p>
${table(
  ["Check", "Status", "Observed", "Note"],
  Object.entries(health.checks ?? {}).flatMap(([name, checks]) =>
    checks.map(
      (c) =>
        html`<tr><td>${name}</td><td>${c.status}</td><td>${
          c.observedValue === undefined
            ? ""
            : `${String(c.observedValue)}${c.observedUnit ? ` ${c.observedUnit}` : ""}`
        }</td><td>${c.output ?? ""}</td></tr>`,
    ),
  ),
  "No checks reported.",
)}</section>
<section aria-labelledby="warnings"><h2 id="warnings">Warnings</h2>
${warnings.length === 0 ? html`<p class="muted">None.</p>` : html`<ul class="warnings">${warnings.map((w) => html`<li>${w}</li>`)}</ul>`}</section>
<section aria-labelledby="depth"><h2 id="depth">Queues</h2>
${table(
  [
    "Queue",
    "Ready",
    "Scheduled",
    "Running",
    "Dead",
    "Oldest ready",
    "Done last hour",
    "Failed last hour",
    "State",
  ],
  queues.map(
    (q) => html`<tr><td><a href="/console/queues/${encodeURIComponent(q.name)}">${q.name}</a></td>
<td>${q.counts.available}</td><td>${q.counts.scheduled}</td><td>${q.counts.running}</td>
<td>${count(q, "dead")}</td><td>${q.counts.available > 0 ? duration(q.oldestReadyAgeSeconds) : "—"}</td>
<td>${lastHourCount(q, "succeeded")}</td><td>${errorRate(q.lastHour)}</td>
<td>${q.paused ? "paused" : "active"}</td></tr>`,
  ),
  "No queues yet.",
)}</section>
<section aria-labelledby="off"><h2 id="off">Switches off</h2>
${table(
  ["Switch", "Reason", "By"],
  off.map((s) => html`<tr><td>${s.name}</td><td>${s.reason ?? ""}</td><td>${s.updatedBy}</td></tr>`),
  "Every switch is on.",
)}</section>`;
    return page(call, "Overview", body, "/console");
  });
}
