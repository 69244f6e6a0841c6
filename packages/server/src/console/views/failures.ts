import { html, shellWord, time } from "../html.js";
import { page, table } from "../page.js";
import type { ConsoleRoutes } from "../routes.js";

/**
 * Failures: jobs that died in the last 7 days grouped by queue and error fingerprint (code +
 * message shape), counted over the last hour, day and week; each group links to the dry run of
 * its bulk retry (operate), which shows the `keel` command and retries through the same engine
 * call, with the same audit row, as `keel queues retry-dead --fingerprint` and the API.
 */
export function failuresView(routes: ConsoleRoutes): void {
  routes.get("/console/failures", async (call, _params, query) => {
    const queue = query.queue || undefined;
    const groups = await call.engine.failureGroups({ queue });
    const mayRetry = call.session.role !== "read";
    const filters = html`<form method="get" action="/console/failures" class="filters">
<label>Queue <input name="queue" value="${queue ?? ""}"></label>
<button type="submit">Filter</button></form>`;
    const rows = groups.map((g) => {
      const q = encodeURIComponent(g.queue);
      return html`<tr><td><a href="/console/queues/${q}">${g.queue}</a></td>
<td><code>${g.shape}</code><br><span class="muted">e.g. <a href="/console/jobs/${g.exampleId}">job ${g.exampleId}</a>: ${g.example ?? ""}</span></td>
<td>${g.counts.lastHour}</td><td>${g.counts.lastDay}</td><td>${g.counts.lastWeek}${g.capped ? "+" : ""}</td>
<td>${time(g.lastSeen)}</td>
<td><code>${g.fingerprint}</code>${
        mayRetry
          ? html`<br><a class="button" href="/console/queues/${q}/retry-dead?fingerprint=${g.fingerprint}">Retry group…</a>`
          : ""
      }</td></tr>`;
    });
    const body = html`${filters}
<p class="muted">Jobs that died in the last 7 days, grouped by their error's code and message shape (quoted strings,
UUIDs, hex ids and numbers replaced). CLI: <code class="cmd">keel queues failures${queue ? ` --queue ${shellWord(queue)}` : ""}</code></p>
${table(["Queue", "Error", "Last hour", "24 hours", "7 days", "Last seen", "Fingerprint"], rows, "No job died in the last 7 days.")}`;
    return page(call, "Failures", body, "/console/failures");
  });
}
