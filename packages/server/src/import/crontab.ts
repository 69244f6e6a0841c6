import { type FoundCron, importError, scheduleName } from "./found.js";

/** The `@` nicknames cron implementations accept, as five fields. */
const NICKNAMES: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/;

/**
 * The entries of a user crontab (`crontab -l`): five fields and a command, or an `@` nickname
 * and a command. `CRON_TZ=Zone` sets the time zone of the lines after it (UTC before any);
 * other `NAME=value` lines are the commands' environment and are left out. A line that fetches
 * one URL with curl or wget becomes that request; any other command is kept as a command.
 *
 * @example
 * crontabCrons("CRON_TZ=Europe/Berlin\n15 3 * * * curl -fsS https://app.example.com/cron/cleanup\n", "crontab");
 * // crons: [{ where: "line 2", name: "cleanup", cron: "15 3 * * *", timezone: "Europe/Berlin", call: { kind: "url", … } }]
 */
export function crontabCrons(text: string, file: string): { crons: FoundCron[]; notes: string[] } {
  const crons: FoundCron[] = [];
  const notes: string[] = [];
  let timezone = "UTC";
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    const where = `line ${i + 1}`;
    if (line === "" || line.startsWith("#")) return;
    const assignment = ASSIGNMENT.exec(line);
    if (assignment) {
      if (assignment[1] === "CRON_TZ") timezone = unquote(assignment[2] ?? "").trim() || "UTC";
      return;
    }
    let cron: string;
    let command: string;
    if (line.startsWith("@")) {
      const [nickname = "", ...rest] = line.split(/\s+/);
      if (nickname === "@reboot") {
        notes.push(`${where}: @reboot has no schedule: left out (run it at your app's start instead)`);
        return;
      }
      const fields = NICKNAMES[nickname];
      if (!fields) {
        throw importError(
          file,
          `${where}: unknown nickname ${nickname}; use ${Object.keys(NICKNAMES).join(", ")}`,
        );
      }
      cron = fields;
      command = rest.join(" ");
    } else {
      const parts = line.split(/\s+/);
      if (parts.length < 6) {
        throw importError(
          file,
          `${where}: expected five time fields and a command ("15 3 * * * /usr/local/bin/cleanup"), found "${line.slice(0, 80)}"`,
        );
      }
      cron = parts.slice(0, 5).join(" ");
      command = line.replace(/^(\S+\s+){5}/, "");
    }
    if (command.trim() === "") throw importError(file, `${where}: the line has no command`);
    const fetch = fetchCall(command);
    const base = fetch
      ? (new URL(fetch.url).pathname.split("/").filter(Boolean).at(-1) ?? "")
      : commandName(command);
    crons.push({
      where,
      name: scheduleName(base ?? "", `line-${i + 1}`),
      cron,
      timezone,
      call: fetch ? { kind: "url", ...fetch } : { kind: "command", command: command.trim() },
    });
  });
  if (crons.length === 0) throw importError(file, "no cron entries found: there is nothing to import");
  return { crons, notes };
}

/**
 * The request a `curl …` or `wget …` command makes, when it makes exactly one to a literal URL
 * (no pipes or command lists, no shell variable in the URL). `$VAR` in a header becomes Keel's
 * `${VAR}`, read from Keel's environment at delivery time.
 */
export function fetchCall(
  command: string,
): { url: string; method: string; headers: Record<string, string> } | undefined {
  const words = shellWords(command);
  if (!words) return undefined;
  const program = words[0]?.split("/").at(-1);
  if (program !== "curl" && program !== "wget") return undefined;
  let url: string | undefined;
  let method = "GET";
  const headers: Record<string, string> = {};
  const header = (value: string | undefined) => {
    const colon = value?.indexOf(":") ?? -1;
    if (!value || colon <= 0) return;
    headers[value.slice(0, colon).trim()] = keelVariables(value.slice(colon + 1).trim());
  };
  for (let i = 1; i < words.length; i++) {
    const word = words[i] as string;
    if (/^[<>]|^\d>/.test(word)) break;
    if (word === "-X" || word === "--request") method = (words[++i] ?? "GET").toUpperCase();
    else if (/^-X[A-Z]+$/.test(word)) method = word.slice(2);
    else if (word.startsWith("--method=")) method = word.slice(9).toUpperCase();
    else if (word === "-H" || word === "--header") header(words[++i]);
    else if (word.startsWith("--header=")) header(word.slice(9));
    else if (/^https?:\/\//i.test(word)) {
      if (url !== undefined || word.includes("$")) return undefined;
      url = word;
    }
  }
  if (!url || !URL.canParse(url)) return undefined;
  return { url, method, headers };
}

const RUNNERS = new Set([
  "npm",
  "pnpm",
  "yarn",
  "npx",
  "node",
  "bun",
  "deno",
  "python",
  "python3",
  "sh",
  "bash",
  "ruby",
  "php",
]);

/**
 * A name for a command: its last step's script (`cd /srv && npm run sync` → `sync`,
 * `node scripts/backup.js` → `backup`), else that step's program (`/usr/bin/rotate-logs.sh` → `rotate-logs`).
 */
function commandName(command: string): string {
  const step = command.split(/&&|\|\||;|\|/).at(-1) ?? command;
  const words = step
    .trim()
    .split(/\s+/)
    .filter((w) => !ASSIGNMENT.test(w) && !/^[<>]|^\d>/.test(w));
  const program = words[0]?.split("/").at(-1) ?? "";
  const args = words.slice(1).filter((w) => !w.startsWith("-"));
  const word = RUNNERS.has(program) ? (args.at(-1) ?? program) : program;
  return (word.split("/").at(-1) ?? "").replace(/\.[A-Za-z0-9]+$/, "");
}

/** `$VAR` and `${VAR}` (shell) as `${VAR}` (Keel). */
function keelVariables(value: string): string {
  return value.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, "$${$1}");
}

/** The words of a simple command (quotes removed), or undefined for a pipeline or command list. */
function shellWords(command: string): string[] | undefined {
  const words: string[] = [];
  let current = "";
  let quote: string | undefined;
  let started = false;
  for (const c of command) {
    if (quote) {
      if (c === quote) quote = undefined;
      else current += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      started = true;
    } else if (/\s/.test(c)) {
      if (started) words.push(current);
      current = "";
      started = false;
    } else if (c === "|" || c === ";" || c === "&" || c === "`") {
      // `2>&1` is a redirection, not a command list.
      if (c === "&" && current.endsWith(">")) {
        current += c;
        continue;
      }
      return undefined;
    } else {
      current += c;
      started = true;
    }
  }
  if (started) words.push(current);
  return words;
}

function unquote(value: string): string {
  return value.replace(/^(["'])(.*)\1$/, "$2");
}
