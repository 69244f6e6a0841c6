import { html, shellWord, time } from "../html.js";
import { actionForm, as, page, table } from "../page.js";
import { type ConsoleRoutes, done } from "../routes.js";

/** Kill switches: every stored switch, flip one, or turn off a new one by name. */
export function switchViews(routes: ConsoleRoutes): void {
  routes.get("/console/switches", async (call) => {
    const switches = await call.engine.switches.list();
    const flip = (name: string, enabled: boolean) =>
      actionForm(call, {
        action: "/console/switches",
        label: enabled ? "Turn on" : "Turn off",
        command: `keel switches set ${shellWord(name)} ${enabled ? "on" : "off"}`,
        needed: "operate",
        danger: !enabled,
        fields: html`<input type="hidden" name="name" value="${name}"><input type="hidden" name="enabled" value="${
          enabled ? "on" : "off"
        }">`,
      });
    const body = html`${table(
      ["Switch", "State", "Reason", "By", "Changed", "Action"],
      switches.map(
        (s) => html`<tr><td>${s.name}</td><td>${s.enabled ? "on" : "off"}</td><td>${s.reason ?? ""}</td>
<td>${s.updatedBy}</td><td>${time(s.updatedAt)}</td><td>${flip(s.name, !s.enabled)}</td></tr>`,
      ),
      "No switch has been changed: everything is on.",
    )}
${actionForm(call, {
  action: "/console/switches",
  label: "Turn off",
  command: "keel switches set <name> off --reason <text>",
  needed: "operate",
  danger: true,
  fields: html`<h2>Turn a switch off</h2>
<label>Name <input name="name" required placeholder="scheduling, enqueue:email, process:email"></label>
<label>Reason <input name="reason"></label><input type="hidden" name="enabled" value="off">`,
})}`;
    return page(call, "Switches", body, "/console/switches");
  });

  routes.post("/console/switches", "operate", async (call, _params, form) => {
    const name = form.name ?? "";
    const enabled = form.enabled === "on";
    await call.engine.switches.set(name, enabled, { ...as(call), reason: form.reason || null });
    return done("/console/switches", "switch.set", name, enabled ? 1 : 0);
  });
}
