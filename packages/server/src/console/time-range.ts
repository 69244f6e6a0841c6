import { type Html, html } from "./html.js";
import type { Fields } from "./routes.js";

/** A time range of a list filter, from `<input type="datetime-local">` fields read as UTC. */
export interface TimeRange {
  from?: Date;
  to?: Date;
}

const LOCAL = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?$/;

/** `from` and `to` of `query` (`2025-05-01T09:00`, UTC); a malformed value is no bound. */
export function timeRangeOf(query: Fields): TimeRange {
  const at = (value: string | undefined) => (value && LOCAL.test(value) ? new Date(`${value}Z`) : undefined);
  return { from: at(query.from), to: at(query.to) };
}

/** The two inputs of a time range, filled with `range`. */
export function timeRangeFields(range: TimeRange, what: string): Html {
  const value = (d: Date | undefined) => (d ? d.toISOString().slice(0, 16) : "");
  return html`<label>${what} from (UTC) <input type="datetime-local" name="from" value="${value(range.from)}"></label>
<label>to <input type="datetime-local" name="to" value="${value(range.to)}"></label>`;
}

/** The range as `keel` flags (ISO 8601). */
export function timeRangeFlags(range: TimeRange, fromFlag: string, toFlag: string): string {
  return `${range.from ? ` ${fromFlag} ${range.from.toISOString()}` : ""}${range.to ? ` ${toFlag} ${range.to.toISOString()}` : ""}`;
}
