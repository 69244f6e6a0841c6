/**
 * Redis killed, frozen and out of memory under load: rate-limit checks through a production
 * `keel start --role api` using Redis, and Idempotency-Key requests to an Express app using the
 * SDK's Redis store. During each fault the checks answer 200 through their fail mode within a
 * bound, idempotent requests run once or answer 503 (never twice per key), /health warns, no
 * process exits, and both use Redis again within 5 s of it coming back. A Redis of the test's
 * own, with the append-only file the idempotency guide asks for; never the shared one.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, test } from "node:test";
import express from "express";
import { Redis } from "ioredis";
import { waitFor } from "../../../engine/test/helpers.js";
import { idempotencyExpress, redisIdempotencyStore } from "../../../sdk/src/index.js";
import { closedPort, guardServerLeaks, tempDir } from "../helpers.js";
import { cluster, FULL, POLICY, peakRssMiB, reportFault, startRoles } from "./harness.js";
import { ownedPostgres } from "./owned-postgres.js";

guardServerLeaks();

const hasRedisServer = spawnSync("redis-server", ["--version"]).status === 0;
const skip = hasRedisServer || process.env.CI === "true" ? false : "redis-server is not installed";
const FAULT_S = FULL ? 20 : 3;
// The limiter's store timeout is 50 ms and the idempotency store's 500 ms; the rest is this
// test's margin for a loaded two-core machine.
const CHECK_BOUND_S = 1;
const IDEMPOTENT_BOUND_S = 1.5;
const RECOVERY_BOUND_S = 5;

/** A redis-server on its own port and directory, with an fsync'd append-only file. */
async function ownRedis(): Promise<{
  url: string;
  signal(s: NodeJS.Signals): void;
  restart(): Promise<void>;
}> {
  const port = await closedPort();
  const dir = tempDir("fault-redis");
  let child: ChildProcess;
  const launch = async () => {
    child = spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout?.on("data", (d) => {
      out += d;
    });
    await waitFor(() => out.includes("Ready to accept connections") || child.exitCode !== null, 10_000);
    assert.equal(child.exitCode, null, out);
  };
  await launch();
  after(async () => {
    child.kill("SIGCONT");
    child.kill("SIGKILL");
    if (child.exitCode === null && child.signalCode === null) await once(child, "exit");
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    signal: (s) => child.kill(s),
    async restart() {
      if (child.exitCode === null && child.signalCode === null) await once(child, "exit");
      await launch();
    },
  };
}

interface Sample {
  kind: "check" | "idempotent";
  start: number;
  end: number;
  status: number;
  /** check: the fail mode that decided, if any; idempotent: the error code. */
  note?: string;
}

test("Redis killed, frozen and out of memory under rate-limit and idempotency load", { skip }, async () => {
  const redis = await ownRedis();
  const pgServer = await ownedPostgres();
  const c = await cluster(pgServer.url);
  after(() => c.endpoint.close());
  c.env = { ...c.env, REDIS_URL: redis.url };
  const [api] = await startRoles(c, ["api"]);
  const base = `http://127.0.0.1:${api?.port}`;

  // The application side: an Express app with the SDK's Redis idempotency store.
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  client.on("error", () => {});
  const effects = new Map<string, number>();
  const app = express();
  app.use(express.json(), idempotencyExpress({ store: redisIdempotencyStore({ redis: client }) }));
  app.post("/orders", (req, res) => {
    const key = String(req.headers["idempotency-key"]);
    effects.set(key, (effects.get(key) ?? 0) + 1);
    res.status(201).json({ ok: true });
  });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const appUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    client.disconnect();
  });

  const samples: Sample[] = [];
  let running = true;
  let keys = 0;
  const checks = async () => {
    while (running) {
      const start = performance.now();
      const res = await fetch(`${base}/v1/ratelimit/check`, {
        method: "POST",
        headers: { authorization: `Bearer ${c.adminToken}`, "content-type": "application/json" },
        body: JSON.stringify({ policy: POLICY, key: `user:${keys % 5}` }),
      }).catch(() => undefined);
      const body = ((await res?.json().catch(() => ({}))) ?? {}) as { failMode?: string };
      samples.push({
        kind: "check",
        start,
        end: performance.now(),
        status: res?.status ?? 0,
        note: body.failMode,
      });
    }
  };
  // A client that retries one key until it gets its 201, as a payment client would.
  const orders = async () => {
    while (running) {
      const key = `order-${keys++}`;
      for (let tries = 0; running && tries < 200; tries++) {
        const start = performance.now();
        const res = await fetch(`${appUrl}/orders`, {
          method: "POST",
          headers: { "idempotency-key": key, "content-type": "application/json" },
          body: JSON.stringify({ key }),
        }).catch(() => undefined);
        const body = ((await res?.json().catch(() => ({}))) ?? {}) as { error?: { code?: string } };
        samples.push({
          kind: "idempotent",
          start,
          end: performance.now(),
          status: res?.status ?? 0,
          note: body.error?.code,
        });
        // 409: an earlier try's begin reached Redis after the store gave up on it, so the key is
        // locked for lockSeconds; this client moves on (a real one would retry later).
        if (res?.status === 201 || res?.status === 409) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  const loops = [checks(), checks(), orders(), orders()];

  const health = async () =>
    ((await (await fetch(`${base}/health`)).json()) as { checks: Record<string, { status: string }[]> })
      .checks["redis:responseTime"]?.[0]?.status;
  const usesRedis = (since: number) => (s: Sample) =>
    s.start >= since && s.status < 300 && (s.kind === "idempotent" || s.note === undefined);
  await waitFor(() => samples.filter(usesRedis(0)).length > 20, 20_000, "load with Redis up");
  assert.equal(await health(), "pass");

  const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  admin.on("error", () => {});
  after(() => admin.disconnect());
  const phases: [string, () => Promise<void>, () => Promise<void>][] = [
    ["killed (SIGKILL), restarted", async () => redis.signal("SIGKILL"), () => redis.restart()],
    ["frozen (SIGSTOP), thawed", async () => redis.signal("SIGSTOP"), async () => redis.signal("SIGCONT")],
    [
      "out of memory (maxmemory below use, noeviction), limit lifted",
      async () => {
        await admin.config("SET", "maxmemory-policy", "noeviction");
        await admin.config("SET", "maxmemory", "1");
      },
      async () => {
        await admin.config("SET", "maxmemory", "0");
      },
    ],
  ];
  try {
    await runPhases();
  } finally {
    running = false;
    await Promise.all(loops);
  }
  api?.proc.child.kill("SIGTERM");
  assert.equal((await api?.proc.exited)?.code, 0);

  async function runPhases(): Promise<void> {
    for (const [name, fault, heal] of phases) {
      const began = performance.now();
      await fault();
      const healthDuring = await health();
      await new Promise((r) => setTimeout(r, FAULT_S * 1000));
      await heal();
      const healed = performance.now();
      const back = await waitFor(
        () => {
          const check = samples.find((s) => s.kind === "check" && usesRedis(healed)(s));
          const order = samples.find((s) => s.kind === "idempotent" && usesRedis(healed)(s));
          return check && order ? [check, order] : undefined;
        },
        30_000,
        `${name}: Redis used again`,
      );
      const recoverySeconds = Math.max(...back.map((s) => s.end - healed)) / 1000;
      const during = samples.filter((s) => s.start >= began && s.start < healed);
      const slowest = (kind: Sample["kind"]) =>
        Math.max(0, ...during.filter((s) => s.kind === kind).map((s) => s.end - s.start)) / 1000;
      const unexpected = during.filter((s) =>
        s.kind === "check"
          ? s.status !== 200
          : !(
              s.status === 201 ||
              s.status === 503 ||
              (s.status === 409 && s.note === "idempotency_in_flight")
            ),
      );
      reportFault({
        scenario: `Redis ${name} ${FAULT_S} s later: rate-limit checks (keel api) and Idempotency-Key requests (SDK, Redis store)`,
        lost: null,
        duplicates: [...effects.values()].filter((n) => n > 1).length,
        exits: api?.proc.child.exitCode === null ? 0 : 1,
        recoverySeconds: Math.round(recoverySeconds * 100) / 100,
        unexpected5xx: unexpected.length,
        slowestSeconds: Math.round(Math.max(slowest("check"), slowest("idempotent")) * 1000) / 1000,
        rssMiB: peakRssMiB(api?.proc.child.pid),
        notes: `${during.filter((s) => s.note && s.kind === "check").length} checks by fail mode; idempotent requests: ${describeStatuses(during.filter((s) => s.kind === "idempotent"))}; /health redis ${healthDuring}`,
      });
      assert.equal(api?.proc.child.exitCode, null, `${name}: keel still runs`);
      assert.deepEqual(
        unexpected.map((s) => `${s.kind} ${s.status} ${s.note ?? ""}`),
        [],
        `${name}: checks answer 200, idempotent requests 201, 503 or 409 in flight`,
      );
      assert.ok(
        during.some((s) => s.kind === "check" && s.note === "fallback"),
        `${name}: the fallback decided while Redis failed`,
      );
      assert.ok(
        during.some((s) => s.kind === "idempotent" && s.status === 503),
        `${name}: the store's failure reached the client as 503 (out of memory: Redis once let the store's writes past maxmemory)`,
      );
      assert.ok(slowest("check") <= CHECK_BOUND_S, `${name}: slowest check ${slowest("check")} s`);
      assert.ok(
        slowest("idempotent") <= IDEMPOTENT_BOUND_S,
        `${name}: slowest request ${slowest("idempotent")} s`,
      );
      assert.equal(
        healthDuring,
        "warn",
        `${name}: /health warns about Redis (a write, so out of memory shows too)`,
      );
      assert.ok(recoverySeconds <= RECOVERY_BOUND_S, `${name}: Redis used again after ${recoverySeconds} s`);
      assert.deepEqual(
        [...effects].filter(([, n]) => n > 1),
        [],
        `${name}: no Idempotency-Key ran its effect twice`,
      );
    }
  }
});

/** "201 ×12, 503 ×3": how the requests were answered. */
function describeStatuses(samples: Sample[]): string {
  const counts = new Map<string, number>();
  for (const s of samples) {
    const key = `${s.status}${s.note ? ` ${s.note}` : ""}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${k} ×${n}`).join(", ") || "none";
}
