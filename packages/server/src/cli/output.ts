/** What an operator command prints: one JSON document with --json, aligned text otherwise. */
export class Output {
  constructor(
    readonly json: boolean,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
  ) {}

  /** Prints `data` as JSON with --json, else the text `human` returns. */
  result(data: unknown, human: () => string): void {
    this.stdout.write(this.json ? `${JSON.stringify(data, null, 2)}\n` : `${human()}\n`);
  }
}

export interface Column<T> {
  header: string;
  value: (row: T) => string | number | null | undefined;
  align?: "left" | "right";
  /** Longer values are cut with an ellipsis. */
  max?: number;
}

/**
 * Rows as a table with a header line, columns two spaces apart.
 *
 * @example
 * table([{ name: "email", dead: 2 }], [{ header: "NAME", value: (q) => q.name }, { header: "DEAD", value: (q) => q.dead, align: "right" }]);
 * // NAME   DEAD
 * // email     2
 */
export function table<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((row) => columns.map((c) => cell(c.value(row), c.max)));
  const widths = columns.map((c, i) =>
    Math.max(c.header.length, ...cells.map((r) => (r[i] as string).length)),
  );
  const line = (values: string[]) =>
    values
      .map((v, i) => (columns[i]?.align === "right" ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join("\n");
}

/** `label: value` lines with the values aligned; null and undefined values are left out. */
export function fields(entries: [string, string | number | null | undefined][]): string {
  const shown = entries.filter(([, v]) => v !== null && v !== undefined && v !== "");
  const width = Math.max(...shown.map(([k]) => k.length)) + 1;
  return shown.map(([k, v]) => `${`${k}:`.padEnd(width)} ${cell(v)}`).join("\n");
}

function cell(value: string | number | null | undefined, max?: number): string {
  const text = value === null || value === undefined ? "-" : clean(String(value));
  return max !== undefined && text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * Makes a value from the database safe to print on a terminal: job errors, payloads, token names
 * and switch reasons are written by others, and an escape sequence in them must not reach the
 * terminal (it could rewrite the screen or hide text). Control and bidi characters become escapes.
 */
export function clean(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\t") return " ";
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

/** `2025-05-01T09:30:00Z`: ISO 8601 in UTC, without milliseconds. */
export function time(value: Date | string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return new Date(value).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** A duration in seconds as `250ms`, `45s`, `3m12s`, `2h05m`, `3d04h`. */
export function duration(seconds: number): string {
  if (seconds < 1) return `${Math.max(0, Math.round(seconds * 1000))}ms`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${pad(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86_400)}d${pad(Math.floor(s / 3600) % 24)}h`;
}

const pad = (n: number) => String(n).padStart(2, "0");
