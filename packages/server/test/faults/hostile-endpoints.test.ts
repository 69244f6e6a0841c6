/**
 * Hostile endpoints against a real `keel start --role worker` process (production mode): a drip
 * of one byte a second, a 1 GiB body, no answer at all, a request body never read, redirects to
 * internal addresses, connection resets and header bombs. For each: every attempt ends within its
 * timeout (the queue's `deliveryTimeoutMs`) as the process measured it, no more than the 16 KiB
 * body cap is recorded, the server could push only socket buffers' worth of bytes, the process's
 * peak RSS stays bounded, and a second queue keeps delivering beside the hostile calls instead of
 * waiting for their slots. `KEEL_FAULTS=full` scales the counts and the timeout up.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { after, test } from "node:test";
import { Engine, type JobRecord } from "@keel/engine";
import { freshSchema, testDatabaseUrl, waitFor } from "../../../engine/test/helpers.js";
import { RESPONSE_BODY_LIMIT } from "../../src/delivery/request.js";
import { every, newSecret, startEndpoint, type TestEndpoint } from "../fixtures/delivery-servers.js";
import { guardServerLeaks, logLine, spawnKeel } from "../helpers.js";
import { FULL, reportFault } from "./harness.js";

/** More hostile jobs than the process has delivery slots (40), so fairness is what is tested. */
const HOSTILE = FULL ? 120 : 48;
const PROMPT = FULL ? 200 : 20;
const TIMEOUT_MS = FULL ? 5_000 : 2_000;
/** What a hostile queue may hold of the process's 40 slots (decision 028). */
const HOSTILE_SLOTS = 20;
/** Attempts end within their timeout plus this: timers and event-loop lag on a loaded 2-core machine. */
const SLACK_MS = 1_500;
/** Peak RSS may grow by this over the process's RSS at the scenario's start. A buffered 1 GiB body would not fit. */
const RSS_GROWTH_MIB = 128;
/** What a server may push into a connection whose reader stopped: loopback socket buffers, not the body. */
const PUSHED_BYTES_BOUND = 32 * 1024 * 1024;
const GIB = 1024 * 1024 * 1024;

const schema = freshSchema("hostile");
const engine = await Engine.connect({ migrate: true, connectionString: testDatabaseUrl(), schema });
after(() => engine.close());
guardServerLeaks();

const keel = spawnKeel(["start", "--role", "worker"], {
  DATABASE_URL: testDatabaseUrl(),
  KEEL_SCHEMA: schema,
  NODE_ENV: "production",
  KEEL_ADMIN_TOKEN: randomBytes(24).toString("hex"),
  KEEL_METRICS_TOKEN: randomBytes(24).toString("hex"),
  KEEL_SIGNING_SECRET: newSecret(),
  // The hostile endpoints live on loopback; production refuses it otherwise.
  KEEL_TARGET_ALLOWLIST: "127.0.0.1",
  PORT: "0",
});
await waitFor(() => logLine(keel, "keel started") ?? keel.child.exitCode !== null, 60_000, "keel start");
assert.ok(logLine(keel, "keel started"), `keel did not start: ${keel.other.join("\n")}`);
after(async () => {
  keel.child.kill("SIGTERM");
  await keel.exited;
});
const pid = keel.child.pid as number;

/** Resident memory of the Keel process now, and its peak since the last reset, MiB. */
function rss(): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { now: Math.round(kib("VmRSS") / 1024), peak: Math.round(kib("VmHWM") / 1024) };
}

/** Starts a new peak (Linux: writing 5 to clear_refs resets VmHWM to the current RSS). */
function resetPeak(): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

const promptHits = new Map<string, number>();
const prompt = await startEndpoint((req, res) => {
  const id = String(req.headers["keel-job-id"]);
  promptHits.set(id, (promptHits.get(id) ?? 0) + 1);
  res.writeHead(204).end();
});
after(() => prompt.close());

/** A TCP server speaking raw bytes, for what node:http will not do (never read, reset, bad headers). */
interface RawServer {
  origin: string;
  connections: number;
  close(): Promise<void>;
}

async function rawServer(onSocket: (socket: Socket) => void): Promise<RawServer> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    raw.connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    onSocket(socket);
  });
  const raw: RawServer = {
    origin: "",
    connections: 0,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  raw.origin = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  return raw;
}

/** Writes `next()` until the peer stops reading or closes, with backpressure; returns bytes accepted. */
function flood(socket: Socket | NodeJS.WritableStream, next: () => Buffer | string, limit = Infinity) {
  const sent = { bytes: 0 };
  const writable = socket as Socket;
  const pump = () => {
    while (!writable.destroyed && sent.bytes < limit) {
      const chunk = next();
      sent.bytes += Buffer.byteLength(chunk);
      if (!writable.write(chunk)) return;
    }
  };
  writable.on("drain", pump);
  pump();
  return sent;
}

interface Scenario {
  name: string;
  /** The hostile jobs' URL (i: the job's index). */
  url(i: number): string;
  payload?: unknown;
  /** Connections the hostile servers accepted so far: the signal that calls are in flight. */
  started(): number;
  /** What each hostile attempt must end as (any of `code`); `atTimeout`: cut by the timeout. */
  expect: { outcome: "succeeded" | "failed"; code?: string | string[]; atTimeout?: boolean };
  /** The most bytes one connection's server managed to push, when it pushes. */
  pushed?(): number;
  check?(jobs: JobRecord[]): void;
  close(): Promise<void>;
}

async function run(s: Scenario): Promise<void> {
  const queue = `hostile-${s.name}`;
  await engine.upsertQueue(queue, { maxAttempts: 1, deliveryTimeoutMs: TIMEOUT_MS });
  const peakReset = resetPeak();
  const startRss = rss().now;
  const hostile = await engine.enqueueMany(
    Array.from({ length: HOSTILE }, (_, i) => ({ queue, target: { url: s.url(i) }, payload: s.payload })),
  );
  // The process holds its share of hostile calls; only now the other queue's work arrives.
  await waitFor(() => s.started() >= HOSTILE_SLOTS, 20_000, `${s.name}: ${HOSTILE_SLOTS} hostile calls`);
  const prompts = await engine.enqueueMany(
    Array.from({ length: PROMPT }, (_, i) => ({ queue: "prompt", target: { url: `${prompt.origin}/${i}` } })),
  );
  const all = [...hostile, ...prompts].map((j) => j.id);
  const waves = Math.ceil(HOSTILE / HOSTILE_SLOTS);
  const finished = async () => {
    const jobs = await Promise.all(all.map((id) => engine.getJob(id)));
    return jobs.every((j) => j.state === "succeeded" || j.state === "dead") ? jobs : undefined;
  };
  let jobs: JobRecord[];
  try {
    jobs = await waitFor(finished, waves * (TIMEOUT_MS + SLACK_MS) + 30_000, `${s.name}: every job finished`);
  } catch {
    jobs = await Promise.all(all.map((id) => engine.getJob(id)));
  }
  const memory = rss();
  await s.close();

  const hostileJobs = jobs.slice(0, HOSTILE);
  const promptJobs = jobs.slice(HOSTILE);
  const lost = jobs.filter((j) => j.state !== "succeeded" && j.state !== "dead").length;
  const duplicates =
    hostileJobs.reduce((n, j) => n + Math.max(0, j.attempts.length - 1), 0) +
    promptJobs.reduce((n, j) => n + Math.max(0, (promptHits.get(j.id) ?? 0) - 1), 0);
  const latencies = hostileJobs.map((j) => j.attempts[0]?.latencyMs ?? Number.POSITIVE_INFINITY);
  // How long each prompt job waited for a slot, on Postgres' clock: claim time minus enqueue time.
  const waits = promptJobs.map(
    (j) => (j.attempts[0]?.startedAt.getTime() ?? Infinity) - j.createdAt.getTime(),
  );
  const exits = keel.child.exitCode === null && keel.child.signalCode === null ? 0 : 1;
  reportFault({
    scenario: `hostile:${s.name}`,
    lost,
    duplicates,
    exits,
    recoverySeconds: null,
    unexpected5xx: null,
    slowestSeconds: Math.max(...latencies) / 1000,
    rssMiB: memory.peak,
    notes:
      `${HOSTILE} hostile + ${PROMPT} prompt jobs, timeout ${TIMEOUT_MS} ms; RSS ${startRss} → peak ${memory.peak} MiB` +
      `${peakReset ? "" : " (peak since start)"}; prompt waited at most ${Math.max(...waits)} ms` +
      (s.pushed ? `; server pushed at most ${(s.pushed() / 1024 / 1024).toFixed(1)} MiB per connection` : ""),
  });

  assert.equal(exits, 0, "the Keel process is still running");
  assert.equal(lost, 0, "every job reached a final state");
  assert.equal(duplicates, 0, "every job was attempted once");
  for (const job of hostileJobs) {
    const [attempt] = job.attempts;
    assert.ok(attempt, `job ${job.id} has its attempt`);
    assert.equal(attempt.outcome, s.expect.outcome, `job ${job.id}: ${attempt.error?.message}`);
    const codes = s.expect.code === undefined ? undefined : [s.expect.code].flat();
    if (codes)
      assert.ok(codes.includes(String(attempt.error?.code)), `job ${job.id}: ${attempt.error?.message}`);
    const latency = attempt.latencyMs ?? Number.POSITIVE_INFINITY;
    assert.ok(latency <= TIMEOUT_MS + SLACK_MS, `job ${job.id}: attempt took ${latency} ms`);
    if (s.expect.atTimeout) assert.ok(latency >= TIMEOUT_MS - 50, `job ${job.id}: cut after ${latency} ms`);
    assert.ok((attempt.responseBody ?? "").length <= RESPONSE_BODY_LIMIT, "at most 16 KiB recorded");
  }
  s.check?.(hostileJobs);
  assert.ok(
    promptJobs.every((j) => j.state === "succeeded"),
    "the other queue's jobs were delivered",
  );
  // Where hostile calls hold their slot until the timeout, a hostile queue that took every slot
  // would make these wait for a timeout to free one. (Where hostile calls end early, slots free
  // anyway; there the flood's CPU cost on two cores is what delays them, and delivery above is
  // the check.)
  if (s.expect.atTimeout) {
    assert.ok(Math.max(...waits) < TIMEOUT_MS, `a prompt job waited ${Math.max(...waits)} ms for a slot`);
  }
  if (s.pushed) assert.ok(s.pushed() < PUSHED_BYTES_BOUND, `the server pushed ${s.pushed()} bytes`);
  assert.ok(memory.peak - startRss < RSS_GROWTH_MIB, `RSS grew from ${startRss} to ${memory.peak} MiB`);
}

/** An HTTP endpoint scenario's common parts. */
function http(e: TestEndpoint): Pick<Scenario, "started" | "close"> {
  return { started: () => e.connections, close: () => e.close() };
}

test("hostile:drip — one byte a second is cut at the timeout, with what arrived", async () => {
  const e = await startEndpoint((_req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.write(".");
    every(res, 1_000, () => res.write("."));
  });
  await run({
    name: "drip",
    url: (i) => `${e.origin}/drip/${i}`,
    ...http(e),
    expect: { outcome: "failed", code: "delivery_timeout", atTimeout: true },
    check: (jobs) => {
      for (const j of jobs) {
        assert.equal(j.attempts[0]?.responseStatus, 200);
        assert.match(j.attempts[0]?.responseBody ?? "", /^\.{1,10}$/);
      }
    },
  });
});

test("hostile:gigabyte — a 1 GiB body is read to 16 KiB and dropped, never buffered", async () => {
  const chunk = Buffer.alloc(64 * 1024, "g");
  let most = 0;
  const e = await startEndpoint((_req, res) => {
    res.writeHead(200, { "content-length": String(GIB) });
    const sent = flood(res, () => chunk, GIB);
    res.on("close", () => {
      most = Math.max(most, sent.bytes);
    });
  });
  await run({
    name: "gigabyte",
    url: (i) => `${e.origin}/big/${i}`,
    ...http(e),
    expect: { outcome: "succeeded" },
    pushed: () => most,
    check: (jobs) => {
      for (const j of jobs) assert.equal(j.attempts[0]?.responseBody?.length, RESPONSE_BODY_LIMIT);
    },
  });
});

test("hostile:silent — an endpoint that never answers is cut at the timeout", async () => {
  const e = await startEndpoint(() => {});
  await run({
    name: "silent",
    url: (i) => `${e.origin}/silent/${i}`,
    ...http(e),
    expect: { outcome: "failed", code: "delivery_timeout", atTimeout: true },
    check: (jobs) => {
      for (const j of jobs) assert.equal(j.attempts[0]?.responseStatus, null);
    },
  });
});

test("hostile:no-read — an endpoint that never reads a 256 KiB request body is cut at the timeout", async () => {
  const server = await rawServer((socket) => socket.pause());
  await run({
    name: "no-read",
    url: (i) => `${server.origin}/no-read/${i}`,
    payload: { blob: "r".repeat(256 * 1024) },
    started: () => server.connections,
    close: () => server.close(),
    expect: { outcome: "failed", code: "delivery_timeout", atTimeout: true },
  });
});

test("hostile:redirect — redirects to metadata and internal addresses are not followed", async () => {
  const internal = await startEndpoint((_req, res) => res.end("internal secret"));
  const e = await startEndpoint((req, res) => {
    const n = Number(req.url.split("/").at(-1));
    const location =
      n % 2 === 0
        ? "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
        : `${internal.origin}/admin`;
    res.writeHead(n % 2 === 0 ? 302 : 307, { location }).end("moved");
  });
  await run({
    name: "redirect",
    url: (i) => `${e.origin}/redirect/${i}`,
    ...http(e),
    close: async () => {
      await e.close();
      await internal.close();
    },
    expect: { outcome: "failed", code: "delivery_redirect" },
    check: () => {
      assert.equal(internal.connections, 0, "the internal address was never contacted");
      assert.equal(internal.received.length, 0);
    },
  });
});

test("hostile:reset — connections reset before or during the response fail as network errors", async () => {
  const server = await rawServer((socket) => {
    socket.once("data", () => {
      // Half reset as soon as the request arrives, half in the middle of a response.
      if (server.connections % 2 === 0) socket.write("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial");
      setImmediate(() => socket.resetAndDestroy());
    });
  });
  await run({
    name: "reset",
    url: (i) => `${server.origin}/reset/${i}`,
    started: () => server.connections,
    close: () => server.close(),
    expect: { outcome: "failed", code: "delivery_network" },
  });
});

test("hostile:header-bomb — endless and countless response headers end the attempt early", async () => {
  const big = `x-bomb: ${"b".repeat(1024)}\r\n`;
  let most = 0;
  const server = await rawServer((socket) => {
    socket.once("data", () => {
      socket.write("HTTP/1.1 200 OK\r\n");
      // Half send kilobyte headers without end, half tiny ones without end.
      let n = 0;
      const next = server.connections % 2 === 0 ? () => big : () => `h${n++}: v\r\n`;
      const sent = flood(socket, next, GIB);
      socket.on("close", () => {
        most = Math.max(most, sent.bytes);
      });
    });
  });
  await run({
    name: "header-bomb",
    url: (i) => `${server.origin}/headers/${i}`,
    started: () => server.connections,
    close: () => server.close(),
    // The client's header limit ends the attempt; with 48 floods at once on a loaded machine
    // the attempt's timer can fire first. Either way time and bytes stay bounded (below).
    expect: { outcome: "failed", code: ["delivery_network", "delivery_timeout"] },
    pushed: () => most,
  });
});
