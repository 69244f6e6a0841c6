import { KeelError } from "@keel/engine";
import { duration, html, shellWord } from "../html.js";
import { actionForm, as, type ConsoleCall, count, page, table } from "../page.js";
import { type ConsoleRoutes, done } from "../routes.js";
import { deadFilterFlags, deadFilterForm, deadFilterHidden, deadFilterOf } from "./dead-filter.js";

const STATES = ["scheduled", "available", "running", "succeeded", "dead", "cancelled"] as const;

async function queueNamed(call: ConsoleCall, name: string) {
  const queue = (await call.engine.queueOverview()).find((q) => q.name === name);
  if (!queue) throw new KeelError("queue_not_found", { queue: name });
  return queue;
}

const path = (name: string) => `/console/queues/${encodeURIComponent(name)}`;

/** Queues: counts per state, paused, concurrency; pause, resume, retry or purge dead (with a dry-run count). */
export function queueViews(routes: ConsoleRoutes): void {
  routes.get("/console/queues", async (call) => {
    const queues = await call.engine.queueOverview();
    const body = table(
      ["Queue", ...STATES, "Concurrency", "Paused"],
      queues.map(
        (
          q,
        ) => html`<tr><td><a href="${path(q.name)}">${q.name}</a></td>${STATES.map((s) => html`<td>${count(q, s)}</td>`)}
<td>${q.concurrency ?? "∞"}</td><td>${q.paused ? "yes" : "no"}</td></tr>`,
      ),
      "No queues yet.",
    );
    return page(call, "Queues", body, "/console/queues");
  });

  routes.get("/console/queues/:name", async (call, { name }) => {
    const q = await queueNamed(call, name as string);
    const n = shellWord(q.name);
    const body = html`
<dl class="facts">
<dt>State</dt><dd>${q.paused ? "paused" : "active"}</dd>
<dt>Concurrency</dt><dd>${q.concurrency ?? "no limit"} (per tenant: ${q.tenantConcurrency ?? "no limit"})</dd>
<dt>Max attempts</dt><dd>${q.maxAttempts}</dd>
<dt>Oldest ready job</dt><dd>${q.counts.available > 0 ? duration(q.oldestReadyAgeSeconds) : "—"}</dd>
<dt>Retention</dt><dd>succeeded ${duration(q.retentionSucceededSeconds)}, dead ${duration(q.retentionDeadSeconds)}</dd>
</dl>
${table(
  ["State", "Jobs"],
  STATES.map(
    (s) =>
      html`<tr><td><a href="/console/jobs?queue=${encodeURIComponent(q.name)}&amp;state=${s}">${s}</a></td><td>${count(q, s)}</td></tr>`,
  ),
  "",
)}
<h2>Actions</h2>
<div class="actions">
${
  q.paused
    ? actionForm(call, {
        action: `${path(q.name)}/resume`,
        label: "Resume queue",
        command: `keel queues resume ${n}`,
        needed: "operate",
      })
    : actionForm(call, {
        action: `${path(q.name)}/pause`,
        label: "Pause queue",
        command: `keel queues pause ${n}`,
        needed: "operate",
      })
}
${
  q.counts.dead > 0 && call.session.role !== "read"
    ? html`<p><a class="button" href="${path(q.name)}/retry-dead">Retry dead jobs…</a>
<a class="button" href="${path(q.name)}/purge-dead">Purge dead jobs…</a></p>`
    : ""
}
</div>`;
    return page(call, `Queue ${q.name}`, body, "/console/queues");
  });

  // Dry runs: the count of what a bulk action would touch (narrowed by the filters), and the
  // button that does it with the same filters.
  for (const [verb, label] of [
    ["retry-dead", "Retry"],
    ["purge-dead", "Purge"],
  ] as const) {
    routes.get(
      `/console/queues/:name/${verb}`,
      async (call, { name }, query) => {
        const q = await queueNamed(call, name as string);
        const filter = deadFilterOf(query);
        const n = await call.engine.countDead(q.name, filter);
        const body = html`${deadFilterForm(`${path(q.name)}/${verb}`, filter)}
<p>Dry run: <strong>${n}</strong> dead job(s) in queue ${q.name}${
          deadFilterFlags(filter) ? " matching these filters" : ""
        } would be ${verb === "retry-dead" ? "retried" : "deleted with their attempts"}.</p>
${
  n > 0
    ? actionForm(call, {
        action: `${path(q.name)}/${verb}`,
        label: `${label} ${n} dead job(s)`,
        command: `keel queues ${verb} ${shellWord(q.name)}${deadFilterFlags(filter)}`,
        needed: "operate",
        danger: verb === "purge-dead",
        fields: deadFilterHidden(filter),
        ...(verb === "purge-dead" ? { confirm: `Delete ${n} dead jobs of ${q.name}?` } : {}),
      })
    : ""
}
<p><a href="${path(q.name)}">Back to queue ${q.name}</a> · <a href="/console/failures?queue=${encodeURIComponent(q.name)}">Failures of ${q.name}</a></p>`;
        return page(call, `${label} dead jobs of ${q.name}`, body, "/console/queues");
      },
      "operate",
    );
  }

  routes.post("/console/queues/:name/pause", "operate", async (call, { name }) => {
    await call.engine.pauseQueue(name as string, as(call));
    return done(path(name as string), "queue.pause", name as string);
  });
  routes.post("/console/queues/:name/resume", "operate", async (call, { name }) => {
    await call.engine.resumeQueue(name as string, as(call));
    return done(path(name as string), "queue.resume", name as string);
  });
  routes.post("/console/queues/:name/retry-dead", "operate", async (call, { name }, form) => {
    const n = await call.engine.retryDead(name as string, undefined, as(call), deadFilterOf(form));
    return done(path(name as string), "queue.retry_dead", name as string, n);
  });
  routes.post("/console/queues/:name/purge-dead", "operate", async (call, { name }, form) => {
    const n = await call.engine.purgeDead(name as string, undefined, as(call), deadFilterOf(form));
    return done(path(name as string), "queue.purge_dead", name as string, n);
  });
}
