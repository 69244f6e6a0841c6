import { readFileSync } from "node:fs";

/** The placeholders runbooks may use in commands (docs/runbooks/README.md), mapped by the test. */
export const PLACEHOLDERS = [
  "<queue>",
  "<job-id>",
  "<schedule>",
  "<event-id>",
  "<token-id>",
  "<backup-id>",
  "<scratch-database-url>",
  "<since>",
] as const;

const SECTIONS = ["## Signal", "## First commands", "## Do", "## Don't"];

/** One command line of a ```sh block. */
export interface RunbookCommand {
  /** 1-based line in the file. */
  line: number;
  /** The command as written, without its comment. */
  text: string;
  /** False for `# not run: <reason>` lines. */
  run: boolean;
  reason?: string;
  /** Accepted exit codes: 0, and N for `# exits N when …`. */
  exits: number[];
  /** The arguments after `keel`, placeholders replaced from `values`. */
  argv(values: Record<string, string>): string[];
}

export interface Runbook {
  commands: RunbookCommand[];
  /** What is wrong with the page: missing sections, unmarked commands, unknown placeholders. */
  problems: string[];
  /** What the page names that must exist: metrics, doctor check ids, console views. */
  names: { metrics: string[]; checks: string[]; views: string[] };
}

/**
 * Reads a runbook: its sections in order, every line of its ```sh blocks (a `keel …` command that
 * the test runs, or a line marked `# not run: <reason>`), and the names it relies on.
 *
 * @example
 * const { commands, problems } = readRunbook("docs/runbooks/backlog-climbing.md");
 */
export function readRunbook(path: string): Runbook {
  const lines = readFileSync(path, "utf8").split("\n");
  const problems: string[] = [];
  const at = SECTIONS.map((s) => lines.indexOf(s));
  SECTIONS.forEach((s, i) => {
    if ((at[i] ?? -1) < 0) problems.push(`no "${s}" section`);
    else if (i > 0 && (at[i] ?? 0) < (at[i - 1] ?? 0))
      problems.push(`"${s}" comes before "${SECTIONS[i - 1]}"`);
  });

  const signalLines = lines.slice((at[0] ?? 0) + 1, at[1] ?? lines.length);
  for (const kind of ["Metric", "Doctor", "Console"]) {
    if (!signalLines.some((l) => l.startsWith(`- ${kind}`))) problems.push(`Signal has no "- ${kind}…" line`);
  }

  const commands: RunbookCommand[] = [];
  let fence: string | undefined;
  let pending = "";
  let pendingLine = 0;
  lines.forEach((raw, i) => {
    const trimmed = raw.trim();
    if (fence === undefined) {
      if (trimmed.startsWith("```")) fence = trimmed.slice(3);
      return;
    }
    if (trimmed === "```") {
      fence = undefined;
      return;
    }
    if (fence !== "sh") {
      if (/^(\$ )?keel /.test(trimmed))
        problems.push(`line ${i + 1}: a keel command outside a \`\`\`sh block`);
      return;
    }
    if (pending === "") pendingLine = i + 1;
    if (trimmed.endsWith("\\")) {
      pending += `${trimmed.slice(0, -1)} `;
      return;
    }
    const full = pending + trimmed;
    pending = "";
    if (full === "" || full.startsWith("#")) return;
    const parsed = parseLine(full, pendingLine, problems);
    if (parsed) commands.push(parsed);
  });

  const text = lines.join("\n");
  const signal = lines.slice(at[0] ?? 0, at[1] ?? lines.length).join("\n");
  return {
    commands,
    problems,
    names: {
      metrics: unique([...text.matchAll(/`(keel_[a-z_]+)[{`]/g)].map((m) => m[1] as string)),
      checks: unique(
        [...text.matchAll(/`((?:config|postgres|operations|probe)\.[a-z_.<>-]*[a-z_>])`/g)].map(
          (m) => m[1] as string,
        ),
      ),
      views: unique(
        [...(/^- Console:(.*(?:\n {2}.*)*)/m.exec(signal)?.[1] ?? "").matchAll(/\*\*([^*]+)\*\*/g)].map(
          (m) => m[1] as string,
        ),
      ),
    },
  };
}

function parseLine(full: string, line: number, problems: string[]): RunbookCommand | undefined {
  const { command, comment } = splitComment(full);
  const notRun = /^not run:\s*(.*)$/.exec(comment ?? "");
  if (notRun) {
    if (!notRun[1]?.trim()) problems.push(`line ${line}: "# not run:" needs a reason`);
    return { line, text: command, run: false, reason: notRun[1], exits: [], argv: () => [] };
  }
  if (!/^keel( |$)/.test(command)) {
    problems.push(`line ${line}: \`${command}\` is not a keel command: mark it \`# not run: <reason>\``);
    return undefined;
  }
  if (/[|;&<>$`]/.test(command.replace(/<[^<>\s]+>/g, ""))) {
    problems.push(
      `line ${line}: \`${command}\` uses the shell (pipes, variables, redirects): the test runs keel alone`,
    );
  }
  for (const [placeholder] of command.matchAll(/<[^<>\s]+>/g)) {
    if (!(PLACEHOLDERS as readonly string[]).includes(placeholder)) {
      problems.push(`line ${line}: unknown placeholder ${placeholder} (known: ${PLACEHOLDERS.join(" ")})`);
    }
  }
  const exits = /^exits (\d+) when \S/.exec(comment ?? "");
  return {
    line,
    text: command,
    run: true,
    exits: exits ? [0, Number(exits[1])] : [0],
    argv: (values) => {
      const replaced = command.replace(/<[^<>\s]+>/g, (p) => {
        const value = values[p];
        if (value === undefined) throw new Error(`no value for ${p} in \`${command}\``);
        return value;
      });
      return tokenize(replaced).slice(1);
    },
  };
}

/** The command and its trailing `# comment` (a `#` after whitespace, outside quotes). */
function splitComment(full: string): { command: string; comment: string | undefined } {
  let quote: string | undefined;
  for (let i = 0; i < full.length; i++) {
    const c = full[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "#" && (i === 0 || /\s/.test(full[i - 1] ?? ""))) {
      return { command: full.slice(0, i).trim(), comment: full.slice(i + 1).trim() };
    }
  }
  return { command: full.trim(), comment: undefined };
}

/** Words as sh splits them, for commands without expansions: spaces, single and double quotes. */
function tokenize(command: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (const c of command) {
    if (quote) {
      if (c === quote) quote = undefined;
      else word = (word ?? "") + c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word = word ?? "";
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else word = (word ?? "") + c;
  }
  if (word !== undefined) words.push(word);
  return words;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
