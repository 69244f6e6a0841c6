import type { DoctorService } from "../../doctor/service.js";
import type { DoctorCheck } from "../../doctor/types.js";
import { html, time } from "../html.js";
import { page, table } from "../page.js";
import type { ConsoleRoutes } from "../routes.js";

const ORDER = { fail: 0, warn: 1, pass: 2 } as const;

/**
 * The doctor's scorecard (`keel doctor`, `GET /v1/doctor`): the latest report this replica has
 * (its background run, or the last one asked for), problems first with what was seen and the
 * fix. "Run checks" runs them now; probes (requests to the app's targets) only when ticked.
 */
export function doctorView(routes: ConsoleRoutes, doctor: DoctorService): void {
  routes.get("/console/doctor", async (call, _params, query) => {
    const probes = query.probes === "on";
    const report =
      query.run === "1"
        ? await doctor.run({ probes })
        : (doctor.latest() ?? (await doctor.run({ probes: false })));
    const checks = [...report.checks].sort((a, b) => ORDER[a.status] - ORDER[b.status]);
    const row = (c: DoctorCheck) =>
      html`<tr class="${c.status}"><td><strong>${c.status.toUpperCase()}</strong></td><td><code>${c.id}</code></td>
<td>${c.seen}</td><td>${c.fix ?? ""}</td></tr>`;
    const { pass, warn, fail } = report.counts;
    const body = html`<p role="status" class="summary ${report.status}">${fail} fail, ${warn} warn, ${pass} pass — checked ${time(
      report.at,
    )}${report.checks.some((c) => c.id.startsWith("probe.")) ? "" : " without probes"}.</p>
<form method="get" action="/console/doctor" class="filters"><input type="hidden" name="run" value="1">
<label class="check"><input type="checkbox" name="probes"${probes ? html` checked` : ""}> Probe the application's targets</label>
<button type="submit">Run checks</button></form>
<p class="muted">CLI: <code class="cmd">keel doctor${probes ? "" : " --no-probes"}</code> · API: <code>GET /v1/doctor</code> ·
metric <code>keel_doctor_check{check,status}</code></p>
${table(["Status", "Check", "Seen", "Fix"], checks.map(row), "No checks ran.")}`;
    return page(call, "Doctor", body, "/console/doctor");
  });
}
