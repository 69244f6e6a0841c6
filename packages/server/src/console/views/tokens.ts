import { SCOPES, type Scope } from "@keel/engine";
import { html, shellWord, time } from "../html.js";
import { actionForm, as, type ConsoleCall, page, table } from "../page.js";
import { type ConsoleRoutes, done } from "../routes.js";

async function tokensPage(call: ConsoleCall, created?: { name: string; token: string }) {
  const tokens = await call.engine.tokens.list();
  const body = html`${
    created
      ? html`<div class="notice" role="status"><p>Token <strong>${created.name}</strong> created. Copy it now: it is shown once and stored only as a hash.</p>
<p><code class="secret">${created.token}</code></p></div>`
      : ""
  }
${table(
  ["Id", "Name", "Prefix", "Scopes", "Created", "Last used", "Revoked", "Action"],
  tokens.map(
    (
      t,
    ) => html`<tr><td>${t.id}</td><td>${t.name}</td><td><code>${t.prefix}…</code></td><td>${t.scopes.join(", ")}</td>
<td>${time(t.createdAt)} by ${t.createdBy}</td><td>${time(t.lastUsedAt)}</td><td>${t.revokedAt ? html`${time(t.revokedAt)} by ${t.revokedBy}` : ""}</td>
<td>${
      t.revokedAt
        ? ""
        : actionForm(call, {
            action: `/console/tokens/${t.id}/revoke`,
            label: "Revoke",
            command: `keel tokens revoke ${t.id}`,
            needed: "admin",
            danger: true,
            confirm: `Revoke token ${t.name}?`,
          })
    }</td></tr>`,
  ),
  "No tokens.",
)}
${actionForm(call, {
  action: "/console/tokens",
  label: "Create token",
  command: "keel tokens create --name <name> --scope <scope>…",
  needed: "admin",
  fields: html`<h2>Create a token</h2><label>Name <input name="name" required maxlength="100"></label>
<fieldset><legend>Scopes</legend>${SCOPES.map(
    (s) => html`<label><input type="checkbox" name="scope" value="${s}"> ${s}</label>`,
  )}</fieldset>`,
})}`;
  return page(call, "Tokens", body, "/console/tokens");
}

/** Tokens (admin only): list, create (the secret shown once, on the answer to the POST), revoke. */
export function tokenViews(routes: ConsoleRoutes): void {
  routes.get("/console/tokens", (call) => tokensPage(call), "admin");

  routes.post("/console/tokens", "admin", async (call, _params, form) => {
    const scopes = (form.scope ?? "").split(",").filter(Boolean) as Scope[];
    const created = await call.engine.tokens.create({ name: form.name ?? "", scopes }, as(call));
    // Not a redirect: the secret must not travel in a URL or be shown twice.
    return { page: await tokensPage(call, { name: created.name, token: created.token }) };
  });

  routes.post("/console/tokens/:id/revoke", "admin", async (call, { id }) => {
    const revoked = await call.engine.tokens.revoke(id as string, as(call));
    return done("/console/tokens", "token.revoke", `${revoked.name} (${shellWord(revoked.id)})`);
  });
}
