import type { DeadFilter } from "@keel/engine";
import { type Html, html, shellWord } from "../html.js";
import type { Fields } from "../routes.js";

/** The ages a bulk action may be narrowed to, in seconds, as the filter form offers them. */
const AGES: [seconds: string, label: string, flag: string][] = [
  ["", "any age", ""],
  ["3600", "over 1 hour", "1h"],
  ["86400", "over 24 hours", "24h"],
  ["604800", "over 7 days", "7d"],
  ["2592000", "over 30 days", "30d"],
];

/**
 * The dead-job filter of a bulk retry or purge, from a query string or a form: `fingerprint`,
 * `error_code`, `older_than` (seconds, one of AGES), `tenant`; empty fields are no filter. The
 * engine checks the values (a bad fingerprint is `invalid_argument`).
 */
export function deadFilterOf(fields: Fields): DeadFilter {
  const given = (name: string) => (fields[name] ? String(fields[name]).trim() || undefined : undefined);
  const age = AGES.find(([seconds]) => seconds !== "" && seconds === given("older_than"));
  return {
    fingerprint: given("fingerprint"),
    errorCode: given("error_code"),
    olderThanSeconds: age ? Number(age[0]) : undefined,
    tenant: given("tenant"),
  };
}

/** The same filter as `keel queues retry-dead|purge-dead` flags. */
export function deadFilterFlags(filter: DeadFilter): string {
  const age = AGES.find(([seconds]) => seconds === String(filter.olderThanSeconds ?? ""));
  return [
    filter.fingerprint ? ` --fingerprint ${shellWord(filter.fingerprint)}` : "",
    filter.errorCode ? ` --error-code ${shellWord(filter.errorCode)}` : "",
    age?.[2] ? ` --older-than ${age[2]}` : "",
    filter.tenant ? ` --tenant ${shellWord(filter.tenant)}` : "",
  ].join("");
}

/** The filter as hidden fields of the form that acts on it. */
export function deadFilterHidden(filter: DeadFilter): Html {
  return html`${filter.fingerprint ? html`<input type="hidden" name="fingerprint" value="${filter.fingerprint}">` : ""}
${filter.errorCode ? html`<input type="hidden" name="error_code" value="${filter.errorCode}">` : ""}
${filter.olderThanSeconds !== undefined ? html`<input type="hidden" name="older_than" value="${String(filter.olderThanSeconds)}">` : ""}
${filter.tenant ? html`<input type="hidden" name="tenant" value="${filter.tenant}">` : ""}`;
}

/** A GET form that narrows the dry run: the count is shown again for the filter chosen. */
export function deadFilterForm(action: string, filter: DeadFilter): Html {
  return html`<form method="get" action="${action}" class="filters">
<label>Error fingerprint <input name="fingerprint" value="${filter.fingerprint ?? ""}" size="14" pattern="[0-9a-f]{12}"></label>
<label>Error code <input name="error_code" value="${filter.errorCode ?? ""}"></label>
<label>Died <select name="older_than">${AGES.map(
    ([seconds, label]) =>
      html`<option value="${seconds}"${seconds === String(filter.olderThanSeconds ?? "") ? html` selected` : ""}>${label}</option>`,
  )}</select></label>
<label>Tenant <input name="tenant" value="${filter.tenant ?? ""}"></label>
<button type="submit">Count</button>
</form>`;
}
