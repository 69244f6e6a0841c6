import assert from "node:assert/strict";
import { test } from "node:test";
import type { ClaimedJob, Engine } from "../src/index.js";
import { guardLeaks, testEngine } from "./helpers.js";

guardLeaks();
const engine: Engine = await testEngine();

function claim(queue: string, limit: number, workerId = "w"): Promise<ClaimedJob[]> {
  return engine.claim({ queue, handlers: ["h"], limit, leaseMs: 30_000, workerId, limited: true });
}

test("a queue's concurrency holds across many concurrent claimers", async () => {
  await engine.upsertQueue("g1", { concurrency: 3 });
  await engine.enqueueMany(Array.from({ length: 50 }, () => ({ queue: "g1", target: { handler: "h" } })));
  const got = (await Promise.all(Array.from({ length: 10 }, (_, i) => claim("g1", 5, `w${i}`)))).flat();
  assert.equal(got.length, 3);
  assert.equal((await claim("g1", 5)).length, 0, "full: nothing more");
  await engine.complete([got[0] as ClaimedJob]);
  assert.equal((await claim("g1", 5)).length, 1, "one slot freed, one claimed");
});

test("the unlimited claim refuses a limited queue instead of exceeding its limit", async () => {
  await engine.upsertQueue("g2", { concurrency: 1 });
  await engine.enqueueMany([
    { queue: "g2", target: { handler: "h" } },
    { queue: "g2", target: { handler: "h" } },
  ]);
  const stale = await engine.claim({
    queue: "g2",
    handlers: ["h"],
    limit: 5,
    leaseMs: 30_000,
    workerId: "w",
    limited: false,
  });
  assert.equal(stale.length, 0);
});

test("a tenant with a deep backlog cannot starve the others", async () => {
  await engine.upsertQueue("t1", { tenantConcurrency: 2 });
  // acme's 200 jobs are all older than the others' jobs.
  await engine.enqueueMany(
    Array.from({ length: 200 }, () => ({ queue: "t1", target: { handler: "h" }, tenant: "acme" })),
  );
  await engine.enqueueMany([
    ...Array.from({ length: 5 }, () => ({ queue: "t1", target: { handler: "h" }, tenant: "globex" })),
    ...Array.from({ length: 5 }, () => ({ queue: "t1", target: { handler: "h" }, tenant: "initech" })),
    ...Array.from({ length: 3 }, () => ({ queue: "t1", target: { handler: "h" } })),
  ]);
  const got = await claim("t1", 20);
  const per = (tenant: string | null) => got.filter((j) => j.tenant === tenant).length;
  assert.equal(per("acme"), 2);
  assert.equal(per("globex"), 2);
  assert.equal(per("initech"), 2);
  assert.equal(per(null), 3, "jobs without a tenant are not tenant-limited");
  const more = await claim("t1", 20);
  assert.equal(more.filter((j) => j.tenant !== null).length, 0, "every tenant is at its limit");
  await engine.complete(got.filter((j) => j.tenant === "globex"));
  const after = await claim("t1", 20);
  assert.deepEqual(
    after.map((j) => j.tenant),
    ["globex", "globex"],
  );
});

test("global and tenant limits together, under concurrent claimers", async () => {
  await engine.upsertQueue("t2", { concurrency: 5, tenantConcurrency: 2 });
  for (const tenant of ["a", "b", "c", "d"]) {
    await engine.enqueueMany(
      Array.from({ length: 20 }, () => ({ queue: "t2", target: { handler: "h" }, tenant })),
    );
  }
  const got = (await Promise.all(Array.from({ length: 6 }, (_, i) => claim("t2", 4, `w${i}`)))).flat();
  assert.equal(got.length, 5);
  const counts = new Map<string, number>();
  for (const j of got) counts.set(j.tenant as string, (counts.get(j.tenant as string) ?? 0) + 1);
  for (const [tenant, n] of counts) assert.ok(n <= 2, `tenant ${tenant} has ${n} running`);
});
