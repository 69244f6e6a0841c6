import { readFileSync } from "node:fs";
import { basename, extname } from "node:path";
import { isKeelError, normalizeSchedule } from "@keel/engine";
import { DEFAULT_PAYLOAD_LIMIT_BYTES } from "@keel/protocol/names";
import { parse as parseYaml } from "yaml";
import { crontabCrons } from "./crontab.js";
import { type FoundCron, IMPORT_FORMATS, type ImportFormat, importError } from "./found.js";
import { renderCrons } from "./render.js";
import { vercelCrons } from "./vercel.js";

/** How a command (Render cron job, crontab line) becomes a target: decision 045. */
export type CommandTarget = "handler" | "url";

export interface ImportOptions {
  /** Forced input format; default: from the file name. */
  format?: ImportFormat;
  /** The app's base URL for Vercel paths (and `commands: "url"`); `${VAR}` read from `env`. Default `${APP_URL}`. */
  baseUrl?: string;
  /** Commands become `{handler: <name>}` targets (default) or GET `<base>/api/cron/<name>`. */
  commands?: CommandTarget;
  env?: Record<string, string | undefined>;
}

/** The schedules made from one file, in the config file's `schedules:` shape. */
export interface ImportResult {
  file: string;
  format: ImportFormat;
  /** The base URL used, or null when no schedule needed one. */
  baseUrl: string | null;
  schedules: Record<string, Record<string, unknown>>;
  /** What the reader must do or know, per schedule (a YAML comment above it). */
  notes: Record<string, string>;
  /** Notes about the file as a whole (lines left out). */
  fileNotes: string[];
}

const CRON_SECRET_HEADER = { Authorization: "Bearer ${CRON_SECRET}" };

/**
 * Reads a vercel.json, render.yaml or crontab and turns its cron jobs into Keel schedules, each
 * checked as the config loader checks it. Throws `invalid_import` naming the entry at fault.
 *
 * @example
 * const result = importCrons("vercel.json", { baseUrl: "https://app.example.com" });
 * result.schedules.digest; // { cron: "0 8 * * *", timezone: "UTC", target: { url: "https://app.example.com/api/cron/digest", method: "GET", headers: { Authorization: "Bearer ${CRON_SECRET}" } } }
 */
export function importCrons(file: string, options: ImportOptions = {}): ImportResult {
  const format = options.format ?? formatOf(file);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw importError(
      file,
      `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  const fileNotes: string[] = [];
  let found: FoundCron[];
  if (format === "crontab") {
    const parsed = crontabCrons(text, file);
    found = parsed.crons;
    fileNotes.push(...parsed.notes);
  } else {
    const doc = parseDocument(text, format, file);
    found = format === "vercel" ? vercelCrons(doc, file) : renderCrons(doc, file);
  }
  const commands = options.commands ?? "handler";
  const needsBase = found.some(
    (f) => f.call.kind === "path" || (f.call.kind === "command" && commands === "url"),
  );
  const baseUrl = needsBase
    ? resolveBaseUrl(options.baseUrl ?? "${APP_URL}", options.env ?? process.env, file)
    : null;
  const result: ImportResult = { file, format, baseUrl, schedules: {}, notes: {}, fileNotes };
  const source = format === "vercel" ? "Vercel" : format === "render" ? "Render" : "crontab";
  for (const cron of found) {
    const name = uniqueName(cron.name, result.schedules);
    const { target, note } = targetOf(cron, name, baseUrl ?? "", commands, source);
    const definition = { cron: cron.cron, timezone: cron.timezone, target };
    try {
      normalizeSchedule(name, definition, { payloadLimitBytes: DEFAULT_PAYLOAD_LIMIT_BYTES });
    } catch (err) {
      if (!isKeelError(err)) throw err;
      throw importError(file, `${cron.where}: ${err.message}`);
    }
    result.schedules[name] = definition;
    result.notes[name] = `from ${cron.where}${note ? `: ${note}` : ""}`;
  }
  return result;
}

/** The format a file name suggests: `*.json` Vercel, `*.yaml`/`*.yml` Render, anything else a crontab. */
export function formatOf(file: string): ImportFormat {
  const ext = extname(file).toLowerCase();
  if (ext === ".json") return "vercel";
  if (ext === ".yaml" || ext === ".yml") return "render";
  if (basename(file) === "vercel.json") return "vercel";
  return "crontab";
}

export { IMPORT_FORMATS };

function parseDocument(text: string, format: ImportFormat, file: string): unknown {
  try {
    return format === "vercel" ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    const kind = format === "vercel" ? "JSON" : "YAML";
    throw importError(file, `not valid ${kind}: ${(err as Error).message.split("\n")[0]}`);
  }
}

function resolveBaseUrl(template: string, env: Record<string, string | undefined>, file: string): string {
  const missing: string[] = [];
  const url = template.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const value = env[name];
    if (value === undefined || value === "") missing.push(name);
    return value ?? "";
  });
  if (missing.length > 0) {
    throw importError(
      file,
      `its cron paths need your app's base URL: set ${missing.join(", ")} or pass --base-url https://app.example.com`,
    );
  }
  if (!/^https?:\/\//i.test(url) || !URL.canParse(url)) {
    throw importError(
      file,
      `--base-url '${url}' is not an absolute http(s) URL (like https://app.example.com)`,
    );
  }
  return url.replace(/\/+$/, "");
}

function uniqueName(wanted: string, taken: Record<string, unknown>): string {
  if (!(wanted in taken)) return wanted;
  let n = 2;
  while (`${wanted.slice(0, 96)}-${n}` in taken) n++;
  return `${wanted.slice(0, 96)}-${n}`;
}

function targetOf(
  cron: FoundCron,
  name: string,
  baseUrl: string,
  commands: CommandTarget,
  source: string,
): { target: Record<string, unknown>; note?: string } {
  const call = cron.call;
  if (call.kind === "path") {
    return {
      target: { url: `${baseUrl}${call.path}`, method: "GET", headers: { ...CRON_SECRET_HEADER } },
      note: "GET with Authorization: Bearer ${CRON_SECRET}, as Vercel sends it; set CRON_SECRET in Keel's environment",
    };
  }
  if (call.kind === "url") {
    const headers = Object.keys(call.headers).length > 0 ? { headers: call.headers } : {};
    return { target: { url: call.url, method: call.method, ...headers } };
  }
  const ran = `${source} ran \`${call.command}\``;
  if (commands === "url") {
    return {
      target: { url: `${baseUrl}/api/cron/${name}`, method: "GET", headers: { ...CRON_SECRET_HEADER } },
      note: `${ran}; add GET /api/cron/${name} to your app doing that work (check the bearer, or verify Keel's signature)`,
    };
  }
  return {
    target: { handler: name },
    note: `${ran}; Keel runs no commands: register a handler '${name}' in a pull worker (@keel/sdk/worker) that does that work, or use --commands url`,
  };
}
