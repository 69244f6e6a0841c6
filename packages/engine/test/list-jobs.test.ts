import assert from "node:assert/strict";
import { test } from "node:test";
import type { Engine, JobPage, KeelError } from "../src/index.js";
import { deadJobs, guardLeaks, testEngine, tuplesRead } from "./helpers.js";

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

/** Claims up to 1,000 ready jobs of the queue at once. */
const claimAll = (e: Engine, queue: string) =>
  e.claim({ queue, handlers: ["h"], limit: 1_000, leaseMs: 60_000, workerId: "w", limited: false });

/** Claims the queue's ready jobs and completes the ids of each group in one call, group by group. */
async function succeed(e: Engine, queue: string, groups: string[][]): Promise<void> {
  const claimed = await claimAll(e, queue);
  const token = new Map(claimed.map((j) => [j.id, j.leaseToken]));
  for (const group of groups) {
    const jobs = group.map((id) => ({
      id,
      leaseToken: token.get(id) ?? assert.fail(`job ${id} not claimed`),
    }));
    assert.deepEqual(await e.complete(jobs), new Set());
  }
}

test("a queue's finished jobs list the latest finished first; pages resume exactly across a shared finish time and a retried job", async () => {
  // Ids in enqueue order, finished in another: b1 and b2 in one completion, then a1–a3 in one.
  const [a1, a2, a3, b1, b2] = (
    await engine.enqueueMany(Array.from({ length: 5 }, () => ({ queue: "fo", target: { handler: "h" } })))
  ).map((r) => r.id);
  await succeed(engine, "fo", [[b1, b2] as string[], [a1, a2, a3] as string[]]);
  const ids = (jobs: { id: string }[]) => jobs.map((j) => j.id);
  const all = async (filter: Parameters<Engine["listJobsPage"]>[0], limit: number) => {
    const pages: string[][] = [];
    let before: string | undefined;
    for (;;) {
      const page = await engine.listJobsPage({ ...filter, limit, ...(before ? { before } : {}) });
      pages.push(ids(page.jobs));
      if (page.nextCursor === null) return pages;
      before = page.nextCursor;
    }
  };
  assert.deepEqual(await all({ queue: "fo", state: "succeeded" }, 10), [[a3, a2, a1, b2, b1]]);
  assert.deepEqual(await all({ queue: "fo", state: "succeeded" }, 2), [[a3, a2], [a1, b2], [b1]]);
  const first = await engine.listJobsPage({ queue: "fo", state: "succeeded", limit: 2 });
  assert.match(first.nextCursor ?? "", /^[0-9]+_[0-9]+$/, "a cursor in finish order carries the finish time");
  // The queue without a state is still newest id first, and takes that cursor's id.
  assert.deepEqual(ids(await engine.listJobs({ queue: "fo", before: first.nextCursor ?? "" })), [a1]);
  // A bare id resumes after that job's finish time.
  assert.deepEqual(ids(await engine.listJobs({ queue: "fo", state: "succeeded", before: a2 })), [a1, b2, b1]);

  // Dead jobs die in one call, so share a finish time; the cursor's job is retried between pages.
  const dead = await deadJobs(engine, "fd", 4);
  const page1 = await engine.listJobsPage({ queue: "fd", state: "dead", limit: 2 });
  assert.deepEqual(ids(page1.jobs), [...dead].reverse().slice(0, 2));
  await engine.retry(dead[2] as string);
  const page2 = await engine.listJobsPage({
    queue: "fd",
    state: "dead",
    limit: 2,
    before: page1.nextCursor ?? "",
  });
  assert.deepEqual(
    ids(page2.jobs),
    [dead[1], dead[0]],
    "the list goes on after its cursor's job left history",
  );
  await assert.rejects(
    engine.listJobs({ queue: "fd", state: "dead", before: dead[2] as string }),
    (e: KeelError) => e.code === "invalid_argument" && /not in history/.test(e.message),
  );
  for (const bad of ["x", "0", "12_", "_12", "1.5", "99999999999999999_1", "1_9223372036854775808"]) {
    await assert.rejects(
      engine.listJobs({ queue: "fd", before: bad }),
      (e: KeelError) => e.code === "invalid_argument" && /cursor/.test(e.message),
      bad,
    );
  }
});

test("a page of a queue's finished jobs reads history by index, about one completion's jobs, not the queue's whole history", async () => {
  const fresh = await testEngine({ poolSize: 1 });
  for (const queue of ["big", "other"]) {
    await fresh.enqueueMany(Array.from({ length: 1_000 }, () => ({ queue, target: { handler: "h" } })));
    const claimed = await claimAll(fresh, queue);
    // Completions of 50, as a worker's: the jobs of one share a finish time.
    for (let i = 0; i < claimed.length; i += 50) await fresh.complete(claimed.slice(i, i + 50));
  }
  let page: JobPage = { jobs: [], nextCursor: null };
  const seq = await tuplesRead(fresh, "job_history", "seq", async () => {
    page = await fresh.listJobsPage({ queue: "big", state: "succeeded", limit: 10 });
  });
  assert.equal(seq, 0, "no sequential scan of history");
  const byIndex = await tuplesRead(fresh, "job_history", "index", () =>
    fresh.listJobsPage({ queue: "big", state: "succeeded", limit: 10, before: page.nextCursor ?? "" }),
  );
  assert.equal(page.jobs.length, 10);
  assert.ok(byIndex <= 120, `a page read ${byIndex} rows of history (a completion is 50)`);
});
