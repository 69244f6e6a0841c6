import type { JobState, QueueOverview } from "@keel/engine";
import {
  type ConsoleRole,
  type ConsoleSession,
  csrfToken,
  type Engine,
  type MutationOptions,
} from "@keel/engine";
import type { FastifyRequest } from "fastify";
import { may } from "./auth.js";
import { type Html, html } from "./html.js";

/** What a console page or action knows about its request. */
export interface ConsoleCall {
  engine: Engine;
  session: ConsoleSession;
  /** The session cookie's secret (its CSRF token is derived from it). */
  secret: string;
  request: FastifyRequest;
}

/** Who an action is recorded as in the audit log, and from where: the same `MutationOptions` the API passes. */
export function as(call: ConsoleCall): MutationOptions {
  return { by: call.session.actor, source: call.request.ip };
}

const NAV: [path: string, label: string, needed: ConsoleRole][] = [
  ["/console", "Overview", "read"],
  ["/console/queues", "Queues", "read"],
  ["/console/jobs", "Jobs", "read"],
  ["/console/failures", "Failures", "read"],
  ["/console/schedules", "Schedules", "read"],
  ["/console/intake", "Intake", "read"],
  ["/console/switches", "Switches", "read"],
  ["/console/tokens", "Tokens", "admin"],
  ["/console/audit", "Audit log", "read"],
  ["/console/doctor", "Doctor", "read"],
];

/** A whole console page: header, navigation, the notice of the last action, and `body`. */
export function page(
  call: ConsoleCall | null,
  title: string,
  body: Html,
  current = "",
  /** Reload the page after this many seconds (a bulk action's progress). */
  refreshSeconds?: number,
): Html {
  const nav = call
    ? html`<nav aria-label="Console"><ul>${NAV.filter(([, , needed]) => may(call.session.role, needed)).map(
        ([path, label]) =>
          html`<li><a href="${path}"${path === current ? html` aria-current="page"` : ""}>${label}</a></li>`,
      )}</ul>
      <form method="post" action="/console/sign-out" class="sign-out">
        <input type="hidden" name="_csrf" value="${csrfToken(call.secret)}">
        <span class="who">${call.session.actor} · ${call.session.role}</span>
        <button type="submit">Sign out</button>
      </form></nav>`
    : "";
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Keel console</title>
${refreshSeconds ? html`<meta http-equiv="refresh" content="${String(refreshSeconds)}">` : ""}
<link rel="icon" href="/console/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/console/assets/console.css">
<script src="/console/assets/console.js" defer></script>
</head>
<body>
<header><a class="brand" href="/console">Keel</a>${nav}</header>
<main id="main">
<h1>${title}</h1>
${call ? notice(call.request) : ""}
${body}
</main>
</body>
</html>`;
}

/** Messages an action redirects with (`?done=<key>&n=<count>&what=<target>`): fixed texts only. */
const NOTICES: Record<string, (what: string, n: string) => string> = {
  "queue.pause": (w) => `Paused queue ${w}.`,
  "queue.resume": (w) => `Resumed queue ${w}.`,
  "queue.retry_dead": (w, n) => `Retried ${n} dead jobs of queue ${w}.`,
  "queue.purge_dead": (w, n) => `Purged ${n} dead jobs of queue ${w}.`,
  "job.retry": (w) => `Job ${w} will run again.`,
  "job.cancel": (w) => `Cancelled job ${w}.`,
  "schedule.trigger": (w, n) => `Triggered schedule ${w}: ${n} job(s) enqueued.`,
  "schedule.pause": (w) => `Paused schedule ${w}.`,
  "schedule.resume": (w, n) => `Resumed schedule ${w} (${n} slot(s) backfilled).`,
  "event.replay": (w, n) => `Replayed event ${w}: ${n} job(s) enqueued.`,
  "event.replay_bulk": (w, n) => `Replayed ${n} event(s) of ${w}.`,
  "switch.set": (w, n) => `Switch ${w} is now ${n === "1" ? "on" : "off"}.`,
  "token.revoke": (w) => `Revoked token ${w}.`,
};

function notice(request: FastifyRequest): Html | "" {
  const q = request.query as Record<string, unknown>;
  const make = typeof q.done === "string" ? NOTICES[q.done] : undefined;
  if (!make) return "";
  const text = make(String(q.what ?? "").slice(0, 200), String(Number(q.n ?? 0)));
  return html`<p class="notice" role="status">${text}</p>`;
}

export interface ActionForm {
  /** POST path under /console. */
  action: string;
  label: string;
  /** The equivalent command, shown beside the button. */
  command: string;
  needed: ConsoleRole;
  /** Asked before submitting (by console.js). */
  confirm?: string;
  danger?: boolean;
  /** Extra fields inside the form. */
  fields?: Html;
}

/** A button that posts one action with the CSRF token; absent when the session's role may not. */
export function actionForm(call: ConsoleCall, form: ActionForm): Html | "" {
  if (!may(call.session.role, form.needed)) return "";
  return html`<form method="post" action="${form.action}" class="action"${
    form.confirm ? html` data-confirm="${form.confirm}"` : ""
  }>
<input type="hidden" name="_csrf" value="${csrfToken(call.secret)}">
${form.fields ?? ""}<button type="submit"${form.danger ? html` class="danger"` : ""}>${form.label}</button>
<code class="cmd" title="The same action from the CLI">${form.command}</code>
</form>`;
}

/** A table, or a line saying there is nothing. */
export function table(headers: string[], rows: Html[], empty: string): Html {
  if (rows.length === 0) return html`<p class="muted">${empty}</p>`;
  return html`<div class="scroll"><table><thead><tr>${headers.map((h) => html`<th scope="col">${h}</th>`)}</tr></thead>
<tbody>${rows}</tbody></table></div>`;
}

/** "Next page" for keyset pagination: the same query with `cursor` set. */
export function nextLink(call: ConsoleCall, cursor: string | null, param = "cursor"): Html | "" {
  if (!cursor) return "";
  const url = new URL(call.request.url, "http://x");
  url.searchParams.set(param, cursor);
  url.searchParams.delete("done");
  return html`<p><a href="${url.pathname}${url.search}" rel="next">Next page →</a></p>`;
}

/** A queue's count of jobs in `state` (exact: totals are counted as jobs finish, decision 050). */
export function count(q: QueueOverview, state: JobState): string {
  return String(q.counts[state]);
}

/** A queue's jobs that succeeded or died in the last hour, `10000+` when the overview's cap was reached. */
export function lastHourCount(q: QueueOverview, state: "succeeded" | "dead"): string {
  return q.capped.includes(state) ? `${q.lastHour[state]}+` : String(q.lastHour[state]);
}
