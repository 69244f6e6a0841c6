import assert from "node:assert/strict";
import { test } from "node:test";
import type { ClaimedJob } from "@keel/engine";
import { freshSchema, lapseLease, testDatabaseUrl, waitFor } from "../../engine/test/helpers.js";
import { redactDatabaseUrl } from "../src/config/env.js";
import { startKeel } from "../src/runtime/start.js";
import { get, guardServerLeaks, memoryLogger } from "./helpers.js";

guardServerLeaks();

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { DATABASE_URL: testDatabaseUrl(), KEEL_SCHEMA: freshSchema("start"), PORT: "0", ...extra };
}

test("role all: serves health and sweeps expired leases back to their queue", async () => {
  const { logger, lines } = memoryLogger();
  const keel = await startKeel({ env: env(), host: "127.0.0.1", logger, timers: { sweepIntervalMs: 20 } });
  try {
    assert.equal(keel.role, "all");
    assert.equal((await get(`http://127.0.0.1:${keel.port}/health/ready`))?.status, 200);
    const metrics = await fetch(`http://127.0.0.1:${keel.port}/metrics`);
    assert.equal(metrics.status, 200, "development without KEEL_METRICS_TOKEN: open");
    assert.match(await metrics.text(), /^# TYPE keel_queue_depth gauge$/m);
    const { engine } = keel;
    const { id } = await engine.enqueue({ queue: "sweep", target: { handler: "h" } });
    const [job] = (await engine.claim({
      queue: "sweep",
      handlers: ["h"],
      limit: 1,
      leaseMs: 30_000,
      workerId: "frozen",
      limited: false,
    })) as ClaimedJob[];
    assert.equal(job?.id, id);
    // As if the worker froze: back-date the lease instead of waiting 30 s.
    await lapseLease(engine, id);
    await waitFor(async () => (await engine.getJob(id)).state === "available", 5_000, "the sweep");
    await waitFor(() => lines.some((l) => l.msg === "expired leases swept"), 1_000, "the sweep log line");
  } finally {
    await keel.stop();
  }
  const messages = lines.map((l) => l.msg);
  assert.ok(messages.indexOf("keel stopping") < messages.indexOf("keel stopped"));
  const started = lines.find((l) => l.msg === "keel started");
  assert.equal(started?.postgres, redactDatabaseUrl(testDatabaseUrl()), "logged without its password");
});

test("role scheduler serves the health endpoints so it can be probed", async () => {
  const { logger } = memoryLogger();
  const keel = await startKeel({ env: env(), role: "scheduler", host: "127.0.0.1", logger });
  try {
    assert.equal(keel.role, "scheduler");
    const res = await fetch(`http://127.0.0.1:${keel.port}/health/ready`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { status: string }).status, "pass");
  } finally {
    await keel.stop();
  }
});

test("a failed start undoes what it started", async () => {
  const { logger } = memoryLogger();
  await assert.rejects(
    startKeel({ env: env({ DATABASE_URL: "postgres://postgres@127.0.0.1:1/nothing" }), logger }),
    /Postgres is not reachable/,
  );
});

test("a port in use is reported with what to do", async () => {
  const { logger } = memoryLogger();
  const first = await startKeel({ env: env(), role: "api", host: "127.0.0.1", logger });
  try {
    await assert.rejects(
      startKeel({ env: env({ PORT: String(first.port) }), role: "api", host: "127.0.0.1", logger }),
      /Port \d+ is already in use\. Stop what is using it, or set PORT/,
    );
  } finally {
    await first.stop();
  }
});
