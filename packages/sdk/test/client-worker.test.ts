/**
 * The pull worker through the SDK's import: jobs enqueued with KeelClient on a real Keel run in
 * an SDK worker with typed handlers; NonRetryableError and RetryAfterError steer the outcome.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { waitFor } from "../../engine/test/helpers.js";
import { guardServerLeaks } from "../../server/test/helpers.js";
import {
  createWorker,
  defineHandlers,
  type HandlerJob,
  KeelClient,
  NonRetryableError,
  RetryAfterError,
} from "../src/index.js";
import { startTestKeel } from "./fixtures/client-servers.js";

guardServerLeaks();

const keel = await startTestKeel();
const client = new KeelClient({ baseUrl: keel.url, token: keel.admin });

type Payloads = { sendWelcome: { userId: number }; chargeCard: { cents: number } };

test("a job enqueued through the API runs in an SDK worker with typed handlers", async () => {
  const welcomed: number[] = [];
  const handlers = defineHandlers<Payloads>({
    sendWelcome: async ({ payload, attempt, tenant }) => {
      assert.equal(attempt, 1);
      assert.equal(tenant, "acme");
      welcomed.push(payload.userId);
    },
    chargeCard: async ({ payload }) => {
      if (payload.cents < 0) throw new NonRetryableError("negative amount");
      throw new RetryAfterError(3600, "card processor is rate limiting");
    },
  });
  const worker = createWorker({
    connectionString: keel.connectionString,
    schema: keel.engine.schema,
    queues: ["sdk-worker"],
    handlers,
    pollIntervalMs: 50,
    maintenance: false,
  });
  await worker.start();
  try {
    const jobs: HandlerJob<Payloads>[] = [
      { queue: "sdk-worker", target: { handler: "sendWelcome" }, payload: { userId: 42 }, tenant: "acme" },
      { queue: "sdk-worker", target: { handler: "chargeCard" }, payload: { cents: -5 } },
      { queue: "sdk-worker", target: { handler: "chargeCard" }, payload: { cents: 500 } },
    ];
    const [welcome, negative, later] = await client.jobs.createMany(jobs);
    await waitFor(
      async () => (await client.jobs.get(welcome?.id as string)).state === "succeeded",
      10_000,
      "the welcome job",
    );
    assert.deepEqual(welcomed, [42]);
    const dead = await waitFor(async () => {
      const job = await client.jobs.get(negative?.id as string);
      return job.state === "dead" ? job : undefined;
    });
    assert.equal(dead.lastError?.message, "negative amount");
    const retried = await waitFor(async () => {
      const job = await client.jobs.get(later?.id as string);
      return job.attempts.length === 1 ? job : undefined;
    });
    assert.equal(retried.state, "scheduled");
    const delayS = (Date.parse(retried.runAt) - Date.now()) / 1000;
    assert.ok(delayS > 3000, `retry in about an hour, not the backoff (${delayS} s)`);
  } finally {
    await worker.stop();
  }
});
