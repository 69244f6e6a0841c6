/**
 * A webhook receiver on loopback, run in its own process so it does not share an event loop
 * with the system under test. Every request's Standard Webhooks signature is verified over
 * the raw bytes; deliveries are counted per `webhook-id`, so a run can check that each job was
 * received exactly once.
 *
 *   const receiver = await startReceiver(secret);   // secret: whsec_…
 *   … deliver to receiver.url …
 *   const { total, distinct, bad } = await receiver.stats();
 *   await receiver.close();
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { whsecKey } from "./webhooks.js";

export interface ReceiverStats {
  /** Requests with a valid signature. */
  total: number;
  /** Distinct webhook-id values among them. */
  distinct: number;
  /** Requests refused (missing or wrong signature). */
  bad: number;
}

export interface Receiver {
  /** `http://127.0.0.1:<port>/hook` */
  url: string;
  pid: number;
  stats(): Promise<ReceiverStats>;
  /** Forgets every delivery counted so far. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

const SELF = fileURLToPath(import.meta.url);

/** Spawns the receiver process and resolves once it listens. */
export async function startReceiver(secret: string): Promise<Receiver> {
  const child = spawn(process.execPath, ["--import", "tsx", SELF, "--serve"], {
    env: { ...process.env, BENCH_RECEIVER_SECRET: secret },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NonNullable<ChildProcess["stdout"]> });
    lines.once("line", (line) => resolve(Number(JSON.parse(line).port)));
    child.once("exit", (code) => reject(new Error(`receiver exited with ${code} before listening`)));
  });
  const base = `http://127.0.0.1:${port}`;
  return {
    url: `${base}/hook`,
    pid: child.pid as number,
    stats: async () => (await (await fetch(`${base}/stats`)).json()) as ReceiverStats,
    reset: async () => {
      await (await fetch(`${base}/reset`, { method: "POST" })).arrayBuffer();
    },
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/** The server side: runs when this file is started with `--serve`. */
function serve(): void {
  const secret = process.env.BENCH_RECEIVER_SECRET ?? "";
  const key = whsecKey(secret);
  const seen = new Map<string, number>();
  let total = 0;
  let bad = 0;
  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/stats") {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ total, distinct: seen.size, bad }));
      return;
    }
    if (req.method === "POST" && req.url === "/reset") {
      seen.clear();
      total = 0;
      bad = 0;
      res.end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const id = String(req.headers["webhook-id"] ?? "");
      const timestamp = String(req.headers["webhook-timestamp"] ?? "");
      const expected = createHmac("sha256", key).update(`${id}.${timestamp}.`).update(body).digest();
      const valid = String(req.headers["webhook-signature"] ?? "")
        .split(" ")
        .some((s) => {
          const given = Buffer.from(s.replace(/^v1,/, ""), "base64");
          return given.length === expected.length && timingSafeEqual(given, expected);
        });
      if (!id || !valid) {
        bad++;
        res.statusCode = 401;
        res.end();
        return;
      }
      total++;
      seen.set(id, (seen.get(id) ?? 0) + 1);
      res.setHeader("content-type", "application/json");
      res.end('{"ok":true}');
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
  });
  // Nothing to flush: the counts live only in memory.
  process.on("SIGTERM", () => process.exit(0));
}

if (process.argv.includes("--serve") && process.argv[1] === SELF) serve();
