import { KeelError } from "@keel/engine";

/** How a cron entry is called, as its platform called it. */
export type CronCall =
  /** A path on the application (Vercel): a GET to the base URL plus the path. */
  | { kind: "path"; path: string }
  /** A full URL a crontab line fetches with curl or wget. */
  | { kind: "url"; url: string; method: string; headers: Record<string, string> }
  /** A shell command (Render cron job, crontab line): Keel runs no commands, see decision 045. */
  | { kind: "command"; command: string };

/** One cron definition found in a vercel.json, render.yaml or crontab, before it becomes a schedule. */
export interface FoundCron {
  /** Where it is in the file, for messages: `crons[0]`, `services[2]`, `line 4`. */
  where: string;
  /** The schedule name it asks for, before duplicates get a suffix. */
  name: string;
  cron: string;
  timezone: string;
  call: CronCall;
}

/** The input formats `keel import` reads. */
export const IMPORT_FORMATS = ["vercel", "render", "crontab"] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** An `invalid_import` error for `file`. */
export function importError(file: string, detail: string): KeelError {
  return new KeelError("invalid_import", { file, detail });
}

/**
 * A schedule name from free text: letters, digits and `_.:-`, starting with a letter or digit,
 * at most 100 characters; `fallback` when nothing is left.
 *
 * @example
 * scheduleName("/api/cron/Daily Digest", "cron"); // "Daily-Digest"
 */
export function scheduleName(text: string, fallback: string): string {
  const cleaned = text
    .replace(/[^A-Za-z0-9_.:-]+/g, "-")
    .replace(/^[^A-Za-z0-9]+/, "")
    .replace(/-+$/, "")
    .slice(0, 100);
  return cleaned || fallback;
}
