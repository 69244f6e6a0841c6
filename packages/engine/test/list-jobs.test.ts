import assert from "node:assert/strict";
import { test } from "node:test";
import type { Engine } from "../src/index.js";
import { deadJobs, guardLeaks, testEngine } from "./helpers.js";

guardLeaks();
const engine: Engine = await testEngine();

test("listJobs merges live jobs and history newest first, filters by state, and pages by id", async () => {
  const dead = await deadJobs(engine, "lj", 3);
  const later = await engine.enqueue({ queue: "lj", target: { handler: "h" }, delayMs: 3_600_000 });
  const ready = await engine.enqueue({ queue: "lj", target: { handler: "h" } });
  await engine.enqueue({ queue: "other", target: { handler: "h" } });
  const ids = async (filter: Parameters<Engine["listJobs"]>[0]) =>
    (await engine.listJobs(filter)).map((j) => j.id);

  assert.deepEqual(await ids({ queue: "lj" }), [ready.id, later.id, ...[...dead].reverse()]);
  assert.deepEqual(await ids({ queue: "lj", state: "available" }), [ready.id]);
  assert.deepEqual(await ids({ queue: "lj", state: "scheduled" }), [later.id]);
  assert.deepEqual(await ids({ queue: "lj", state: "dead" }), [...dead].reverse());
  const acme = await engine.enqueue({ queue: "lj", target: { handler: "h" }, tenant: "acme" });
  assert.deepEqual(await ids({ tenant: "acme" }), [acme.id]);
  assert.deepEqual(await ids({ queue: "lj", tenant: "acme", state: "dead" }), []);
  await engine.cancel(acme.id);
  // Pages of two: every job once, in order, across the live/history boundary.
  const pages: string[] = [];
  let before: string | undefined;
  for (;;) {
    const page = await ids({ queue: "lj", limit: 2, ...(before ? { before } : {}) });
    pages.push(...page);
    if (page.length < 2) break;
    before = page.at(-1);
  }
  assert.deepEqual(pages, [acme.id, ready.id, later.id, ...[...dead].reverse()]);
  assert.deepEqual(
    await ids({ tenant: "acme", state: "cancelled" }),
    [acme.id],
    "a tenant's finished jobs too",
  );
});
