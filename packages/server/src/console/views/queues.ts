import { KeelError } from "@keel/engine";
import { bulkRun, startBulk } from "../bulk.js";
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

/** The audit action, and notice, of each bulk action. */
const AUDITED = { "retry-dead": "queue.retry_dead", "purge-dead": "queue.purge_dead" } as const;

const path = (name: string) => `/console/queues/${encodeURIComponent(name)}`;

/** The switch that refuses new jobs of a queue (docs/switches.md; `keel switches set`). */
const enqueueSwitch = (name: string) => `enqueue:${name}`;

/** Tenants shown in a queue's backlog. */
const TOP_TENANTS = 10;

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
    const [backlog, enqueueOn] = await Promise.all([
      call.engine.tenantBacklog(q.name, TOP_TENANTS),
      call.engine.switches.isEnabled(enqueueSwitch(q.name)),
    ]);
    const left = q.counts.available + q.counts.scheduled + q.counts.running;
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
<h2>Backlog per tenant (top ${String(TOP_TENANTS)})</h2>
${table(
  ["Tenant", "Ready", "Scheduled", "Running", "Unfinished"],
  backlog.map(
    (b) =>
      html`<tr><td>${
        b.tenant === null
          ? html`<span class="muted">no tenant</span>`
          : html`<a href="/console/jobs?queue=${encodeURIComponent(q.name)}&amp;tenant=${encodeURIComponent(b.tenant)}">${b.tenant}</a>`
      }</td><td>${b.available}</td><td>${b.scheduled}</td><td>${b.running}</td><td>${b.total}</td></tr>`,
  ),
  "No unfinished jobs.",
)}
<h2>Drain</h2>
${
  enqueueOn
    ? html`<p>New jobs are accepted. Draining turns the switch <code>${enqueueSwitch(q.name)}</code> off: new jobs
are refused while workers finish the ${left} unfinished.</p>
${actionForm(call, {
  action: `${path(q.name)}/drain`,
  label: "Drain queue",
  command: `keel switches set ${shellWord(enqueueSwitch(q.name))} off --reason drain`,
  needed: "operate",
  danger: true,
  confirm: `Refuse new jobs for ${q.name} until it is undrained?`,
})}`
    : html`<p class="notice" role="status">${
        left === 0
          ? `Drained: enqueue is off (switch ${enqueueSwitch(q.name)}) and no job is left.`
          : `Draining: enqueue is off (switch ${enqueueSwitch(q.name)}); ${left} unfinished job(s) left (${q.counts.running} running).`
      } <a href="${path(q.name)}">Refresh</a></p>
${actionForm(call, {
  action: `${path(q.name)}/undrain`,
  label: "Accept new jobs again",
  command: `keel switches set ${shellWord(enqueueSwitch(q.name))} on`,
  needed: "operate",
})}`
}
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
  // Drain: the queue's enqueue switch off (the same switch, audit row and command as `keel
  // switches set`); the page then shows how many jobs are left until it is drained.
  for (const [verb, enabled] of [
    ["drain", false],
    ["undrain", true],
  ] as const) {
    routes.post(`/console/queues/:name/${verb}`, "operate", async (call, { name }) => {
      const q = await queueNamed(call, name as string);
      const reason = enabled ? null : "drain";
      await call.engine.switches.set(enqueueSwitch(q.name), enabled, { ...as(call), reason });
      return done(path(q.name), "switch.set", enqueueSwitch(q.name), enabled ? 1 : 0);
    });
  }

  // A bulk action answers with the queue page when it finishes quickly, else with its progress
  // page, which refreshes every second until the last batch is done.
  for (const verb of ["retry-dead", "purge-dead"] as const) {
    routes.post(`/console/queues/:name/${verb}`, "operate", async (call, { name }, form) => {
      const q = await queueNamed(call, name as string);
      const run = await startBulk(call, q.name, verb, deadFilterOf(form));
      if (run.finished && !run.error) return done(path(q.name), AUDITED[verb], q.name, run.done);
      return { redirect: `${path(q.name)}/bulk/${run.id}` };
    });
  }
  routes.get(
    "/console/queues/:name/bulk/:id",
    async (call, { name, id }) => {
      const run = bulkRun(call, id as string);
      if (!run || run.queue !== name)
        throw new KeelError("invalid_argument", { detail: "no such bulk action in this process" });
      const verbed = run.verb === "retry-dead" ? "Retried" : "Purged";
      const status = run.error
        ? html`<p class="notice" role="status">Failed, nothing changed: ${run.error}</p>`
        : html`<p role="status">${run.finished ? "Done" : "In progress"}: ${verbed.toLowerCase()} ${run.done} of about ${run.expected} dead job(s) of queue ${run.queue}${
            run.finished ? "." : " (batches of 1,000, committed together at the end)."
          }</p>`;
      const body = html`${status}
<progress max="${String(Math.max(run.expected, run.done, 1))}" value="${String(run.done)}" aria-label="${verbed} jobs">${run.done}</progress>
<p><a href="${path(run.queue)}">Back to queue ${run.queue}</a></p>`;
      return page(
        call,
        `${verbed} dead jobs of ${run.queue}`,
        body,
        "/console/queues",
        run.finished ? undefined : 1,
      );
    },
    "operate",
  );
}
