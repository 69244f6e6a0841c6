/**
 * What the hand-written baselines (plain-intake.ts, plain-enqueue.ts) share: each runs its
 * Fastify + pg server in a process of its own (like `keel start`), started from its own file with
 * `--serve`, which prints `{"port": …}` once listening and stops cleanly on SIGTERM.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { FastifyInstance } from "fastify";
import type pg from "pg";

export interface PlainServer {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

/** Starts `file --serve` with `env` and resolves once it printed its port. */
export async function startPlainServer(
  file: string,
  what: string,
  env: Record<string, string>,
): Promise<PlainServer> {
  const child = spawn(process.execPath, ["--import", "tsx", file, "--serve"], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout as NonNullable<typeof child.stdout> }).once("line", (line) =>
      resolve(Number(JSON.parse(line).port)),
    );
    child.once("exit", (code) => reject(new Error(`${what} exited with ${code} before listening`)));
  });
  return {
    pid: child.pid as number,
    port,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/** In the served process: listen on a free loopback port, print it, close on SIGTERM. */
export async function listenAndReport(app: FastifyInstance, pool: pg.Pool): Promise<void> {
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === "object" ? address?.port : 0 })}\n`);
  process.on("SIGTERM", () => {
    void app.close().then(() => pool.end().then(() => process.exit(0)));
  });
}
