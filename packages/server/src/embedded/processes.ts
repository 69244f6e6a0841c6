import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";

const run = promisify(execFile);

/** True while a process with this pid exists (EPERM means it exists but belongs to another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The command line of a process, or undefined when it cannot be read (gone, or hidden from us). */
export async function commandLine(pid: number): Promise<string[] | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, "utf8");
    return raw.split("\0").filter((arg) => arg !== "");
  } catch {
    if (process.platform === "linux") return undefined;
  }
  try {
    // macOS and the BSDs have no /proc; `ps` prints the command line with spaces between arguments.
    const { stdout } = await run("ps", ["-o", "command=", "-p", String(pid)]);
    const line = stdout.trim();
    return line ? line.split(" ") : undefined;
  } catch {
    return undefined;
  }
}

/**
 * When a process started, as an opaque token (Linux: clock ticks since boot), so a pid
 * written to a file can be told apart from a later process that reused the number.
 * Empty where the platform does not tell us cheaply.
 */
export async function startToken(pid: number): Promise<string> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // Field 22; the command name (field 2) may contain spaces, so count from its closing paren.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19] ?? "";
  } catch {
    return "";
  }
}

/**
 * Stops a Postgres server process: SIGINT (fast shutdown: aborts sessions, checkpoints),
 * then SIGQUIT (immediate shutdown) and SIGKILL if it does not exit in time.
 */
export async function stopPostmaster(pid: number, fastTimeoutMs = 15_000): Promise<void> {
  const steps: [NodeJS.Signals, number][] = [
    ["SIGINT", fastTimeoutMs],
    ["SIGQUIT", 5_000],
    ["SIGKILL", 5_000],
  ];
  for (const [signal, timeoutMs] of steps) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    if (await exited(pid, timeoutMs)) return;
  }
}

async function exited(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
}
