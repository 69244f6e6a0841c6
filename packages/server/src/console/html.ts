/**
 * Escaped HTML templates: every interpolated value is escaped unless it is already `Html`
 * (made by `html` itself or `raw`). Arrays are joined. There is no other way to put text in a
 * console page, so a payload, an error message or a queue name cannot inject markup.
 *
 * @example
 * html`<td>${job.queue}</td>`; // "<td>&lt;b&gt;</td>" for a queue named "<b>"
 */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type Value = Html | string | number | boolean | null | undefined | readonly Value[];

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

function render(value: Value): string {
  if (value === null || value === undefined || value === false) return "";
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join("");
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0] as string;
  for (let i = 0; i < values.length; i++) out += render(values[i] as Value) + (strings[i + 1] as string);
  return new Html(out);
}

/** Markup from a trusted constant (never from a request or the database). */
export function raw(text: string): Html {
  return new Html(text);
}

/** A date as `2026-12-04 20:30:36Z`, in a <time> element with the exact instant. */
export function time(at: Date | string | null | undefined): Html {
  if (at === null || at === undefined) return html`<span class="muted">—</span>`;
  const iso = new Date(at).toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace("T", " ")}Z</time>`;
}

/** Seconds as `3d 4h`, `12m 5s`, `42s`. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

/** JSON for a <pre>, escaped by the template. */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? "null";
}

/** A shell word for a `keel …` command shown beside an action: quoted unless plain. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9._:@/=-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}
