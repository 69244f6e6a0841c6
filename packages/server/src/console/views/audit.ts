import { AUDIT_ACTIONS } from "@keel/engine";
import { html, json, time } from "../html.js";
import { nextLink, page, table } from "../page.js";
import type { ConsoleRoutes } from "../routes.js";
import { timeRangeFields, timeRangeOf } from "../time-range.js";

/** The audit log, newest first, by actor, action, target and time (keyset on the id). */
export function auditView(routes: ConsoleRoutes): void {
  routes.get("/console/audit", async (call, _params, query) => {
    const limit = 50;
    const filter = { actor: query.actor || "", action: query.action || "", target: query.target || "" };
    const range = timeRangeOf(query);
    const entries = await call.engine.auditLog.list({
      ...filter,
      ...range,
      limit,
      ...(/^\d{1,19}$/.test(query.cursor ?? "") ? { before: query.cursor } : {}),
    });
    const cursor = entries.length === limit ? String(entries.at(-1)?.id) : null;
    const body = html`<form method="get" action="/console/audit" class="filters">
<label>Actor <input name="actor" value="${filter.actor}"></label>
<label>Action <select name="action"><option value="">any</option>${AUDIT_ACTIONS.map(
      (a) => html`<option${a === filter.action ? html` selected` : ""}>${a}</option>`,
    )}</select></label>
<label>Target <input name="target" value="${filter.target}" placeholder="queue:email"></label>
${timeRangeFields(range, "At")}
<button type="submit">Filter</button></form>
${table(
  ["At", "Actor", "Action", "Target", "From", "Details"],
  entries.map(
    (e) => html`<tr><td>${time(e.at)}</td><td>${e.actor}</td><td>${e.action}</td><td>${e.target ?? ""}</td>
<td>${e.source ?? ""}</td><td><code>${e.details ? json(e.details).replace(/\s+/g, " ") : ""}</code></td></tr>`,
  ),
  "No entries match.",
)}${nextLink(call, cursor)}`;
    return page(call, "Audit log", body, "/console/audit");
  });
}
