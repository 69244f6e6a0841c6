import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { KeelError } from "@keel/engine";
import type { Log } from "./log-lines.js";
import { commandLine, isAlive, startToken, stopPostmaster } from "./processes.js";

/** The process that holds a data dir: its pid and start time. */
export interface Owner {
  pid: number;
  start: string;
}

/**
 * Marks the data dir as used by this process (`<dataDir>/keel.pid`), so a second Keel on the
 * same directory stops with a clear message instead of killing the first one's Postgres.
 * The file holds the pid and its start time: a pid reused after a reboot is not mistaken
 * for a live owner. Returns the function that releases the lock.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const file = join(dataDir, "keel.pid");
  const me: Owner = { pid: process.pid, start: await startToken(process.pid) };
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      await writeFile(file, `${JSON.stringify(me)}\n`, { flag: "wx", mode: 0o600 });
      return () => rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const owner = await readOwner(file);
    if (owner && (await sameProcess(owner))) {
      throw new KeelError("data_dir_in_use", { pid: owner.pid, dataDir });
    }
    // The owner is gone: take the lock over.
    await rm(file, { force: true });
  }
  throw new KeelError("embedded_postgres_failed", {
    detail: `could not take the lock file ${file}; remove it and retry`,
  });
}

/** The owner recorded in a `keel.pid` file, or undefined when there is none (or it is unreadable). */
export async function readOwner(file: string): Promise<Owner | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, "utf8")) as Partial<Owner>;
    return typeof parsed.pid === "number"
      ? { pid: parsed.pid, start: String(parsed.start ?? "") }
      : undefined;
  } catch {
    return undefined;
  }
}

/** True when the owner still runs: a pid reused by another process does not count. */
export async function sameProcess(owner: Owner): Promise<boolean> {
  if (!isAlive(owner.pid)) return false;
  const start = await startToken(owner.pid);
  return owner.start === "" || start === "" || start === owner.start;
}

/**
 * Clears what a previous run left behind in the cluster directory, before Postgres starts:
 * - a `postmaster.pid` naming a dead process, or a live one that is not this cluster's
 *   Postgres (pids are reused, e.g. after a container restart; Postgres itself refuses to
 *   start when that process runs as its own OS user);
 * - this cluster's Postgres still running because the Keel that started it was SIGKILLed.
 *   We hold the data dir lock, so no live Keel owns it: it is stopped.
 */
export async function clearStalePostmaster(pgDir: string, log: Log): Promise<void> {
  const file = join(pgDir, "postmaster.pid");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return;
  }
  const pid = Number(text.split("\n")[0]);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
    const argv = await commandLine(pid);
    // When the command line is hidden from us, assume it is the postmaster: never delete a live lock.
    const ours = argv === undefined || argv.some((arg) => arg === pgDir);
    if (ours) {
      log(
        "warn",
        `stopping the embedded Postgres (pid ${pid}) left running by a Keel process that did not exit cleanly`,
      );
      await stopPostmaster(pid);
      if (isAlive(pid)) {
        throw new KeelError("embedded_postgres_failed", {
          detail: `the Postgres left running in ${pgDir} (pid ${pid}) did not stop; stop it and start Keel again`,
        });
      }
    }
  }
  // Postgres removes the file on a clean shutdown; whatever is left now is stale.
  const removed = await rm(file).then(
    () => true,
    () => false,
  );
  if (removed) log("warn", `removed the stale lock file ${file} (pid ${pid} is not running)`);
}
