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

test("listJobs filters by handler, target host, dedupe key and creation time, live and finished alike", async () => {
  const [a, b, c] = await engine.enqueueMany([
    { queue: "lf", target: { handler: "sendEmail" }, dedupeKey: "order-1" },
    { queue: "lf", target: { url: "https://API.Example.com:8443/hook?x=1" } },
    { queue: "lf", target: { url: "https://other.example.com/hook" }, dedupeKey: "order-2" },
  ]);
  await deadJobs(engine, "lf-dead", 1, { handler: "sendEmail", dedupeKey: "order-3" });
  const ids = async (filter: Parameters<Engine["listJobs"]>[0]) =>
    (await engine.listJobs({ queue: "lf", ...filter })).map((j) => j.id);
  assert.deepEqual(await ids({ handler: "sendEmail" }), [a?.id]);
  assert.deepEqual(await ids({ handler: "@http" }), [c?.id, b?.id]);
  assert.deepEqual(await ids({ host: "api.example.com" }), [b?.id]);
  assert.deepEqual(await ids({ dedupeKey: "order-1" }), [a?.id]);
  assert.deepEqual(
    (await engine.listJobs({ dedupeKey: "order-3" })).map((j) => j.state),
    ["dead"],
  );
  const later = new Date(Date.now() + 60_000);
  assert.deepEqual(await ids({ createdFrom: later }), []);
  assert.equal((await ids({ createdTo: later, createdFrom: new Date(Date.now() - 60_000) })).length, 3);
  await assert.rejects(engine.listJobs({ createdFrom: "yesterday" }), /createdFrom/);
});
