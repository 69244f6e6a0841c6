import assert from "node:assert/strict";
import { test } from "node:test";
import type { Engine } from "../src/index.js";
import { guardLeaks, testEngine } from "./helpers.js";

// getJob reads a job's row and its tries in two statements; they must see one moment. A try
// that ended between them showed the job still running with that try already listed (the SDK's
// client-worker test met it once in CI: state "running" beside its one recorded try).

guardLeaks();
const engine: Engine = await testEngine();

test("a job and its tries are read as of one moment, whatever commits between the two reads", async () => {
  const { id } = await engine.enqueue({ queue: "snap", target: { handler: "h" } });
  const [job] = await engine.claim({
    queue: "snap",
    handlers: ["h"],
    limit: 1,
    leaseMs: 30_000,
    workerId: "w",
    limited: false,
  });
  assert.equal(job?.id, id);
  // The try ends (a failure, retried in an hour) after the job's row was read and before its
  // tries are: the failure commits on another connection of the pool.
  const { run, runOn } = engine;
  let failedBetween = false;
  const failOnce = async (name: string) => {
    if (name !== "job_attempts" || failedBetween) return;
    failedBetween = true;
    await engine.fail([
      { job: job as NonNullable<typeof job>, error: { message: "boom" }, retryInMs: 3_600_000 },
    ]);
  };
  // Both ways a statement runs: on the pool, or on a client the engine holds.
  engine.run = (async (name, values) => {
    await failOnce(name);
    return run.call(engine, name, values);
  }) as Engine["run"];
  engine.runOn = (async (client, name, values) => {
    await failOnce(name);
    return runOn.call(engine, client, name, values);
  }) as Engine["runOn"];
  try {
    const seen = await engine.getJob(id);
    assert.ok(failedBetween, "the failure committed between the two reads");
    assert.equal(seen.state, "running");
    assert.deepEqual(seen.attempts, [], "the running job's try is not listed before it ended");
  } finally {
    engine.run = run;
    engine.runOn = runOn;
  }
  const after = await engine.getJob(id);
  assert.equal(after.state, "scheduled");
  assert.deepEqual(
    after.attempts.map((a) => a.outcome),
    ["failed"],
  );
});
