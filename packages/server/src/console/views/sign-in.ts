import { type Html, html } from "../html.js";
import { page } from "../page.js";

/** The sign-in form: a token (admin, or read with or without publish) or the console password. */
export function signInPage(state: {
  error?: string;
  signedOut?: boolean;
  password: boolean;
  tokens: boolean;
}): Html {
  const label = state.tokens
    ? state.password
      ? "API token or console password"
      : "API token"
    : "Console password";
  const body = html`${state.signedOut ? html`<p class="notice" role="status">You are signed out.</p>` : ""}
${state.error ? html`<p class="error" role="alert">${state.error}</p>` : ""}
<form method="post" action="/console/sign-in" class="sign-in">
<label>${label}
<input type="password" name="credential" required autocomplete="current-password" autofocus></label>
<button type="submit">Sign in</button>
${
  state.tokens
    ? html`<p class="muted">An <code>admin</code> token signs in as admin, <code>read</code> with <code>publish</code> as operator, <code>read</code> alone read-only. Create one with <code>keel tokens create --name me --scope read</code>.</p>`
    : ""
}
</form>`;
  return page(null, "Sign in", body);
}
