import assert from "node:assert/strict";
import { after, test } from "node:test";
import { openResources } from "@keel/engine";
import { QstashError } from "@upstash/qstash";
import { waitFor } from "../../engine/test/helpers.js";
import { jobIdOfMessage } from "../src/qstash/messages.js";
import { startQStashRig } from "./fixtures/qstash.js";

// The official @upstash/qstash Client pointed at Keel, and its Receiver verifying every delivery.
const rig = await startQStashRig();
// The rig runs one worker for the whole file; the file-level check is that it stopped.
after(() => assert.deepEqual(openResources(), [], "the QStash rig left resources open"));
const { engine, receiver } = rig;
// Failed attempts come back at once: the retry tests wait on attempts, not on backoff.
await engine.upsertQueue("qstash", { backoff: { type: "fixed", delayMs: 20 } });

/** The deliveries to `path` once `count` have arrived. */
function deliveriesTo(path: string, count = 1) {
  return waitFor(
    () => {
      const got = receiver.verified.filter((r) => r.url.split("?")[0] === path);
      return got.length >= count && got.every((r) => r.verified || r.error) ? got : undefined;
    },
    10_000,
    `${count} deliveries to ${path}`,
  );
}

test("publishJSON: delivered once with the JSON body, forwarded headers, and a signature Receiver accepts", async () => {
  const client = rig.client(rig.publishToken);
  const url = `${receiver.origin}/json?x=1`;
  const res = await client.publishJSON({ url, body: { hello: "world" }, headers: { "X-Trace": "t-1" } });
  assert.match(res.messageId, /^msg_[0-9]+$/);
  assert.equal(res.url, url);
  const [got] = await deliveriesTo("/json");
  assert.ok(got?.verified, got?.error);
  assert.equal(got.method, "POST");
  assert.equal(got.url, "/json?x=1");
  assert.equal(got.headers["content-type"], "application/json");
  assert.equal(got.headers["x-trace"], "t-1");
  assert.equal(got.headers["upstash-message-id"], res.messageId);
  assert.equal(got.headers["upstash-retried"], "0");
  assert.equal(got.body, '{"hello":"world"}');
  // Standard Webhooks signing stays on beside it.
  assert.ok(got.headers["webhook-signature"]);
});

test("publish: the body byte for byte as sent, never re-serialised", async () => {
  // JSON.parse and stringify would drop the spaces and the big number's last digits.
  const body = '{ "n": 12345678901234567890, "s": "caf\u00e9 ✓" }';
  await rig
    .client()
    .publish({ url: `${receiver.origin}/raw`, body, headers: { "Content-Type": "application/json" } });
  const [got] = await deliveriesTo("/raw");
  assert.ok(got?.verified, got?.error);
  assert.equal(got.body, body);
});

test("publish: a text body with its content type and Upstash-Method PUT", async () => {
  await rig.client().publish({
    url: `${receiver.origin}/text`,
    body: "plain words",
    method: "PUT",
    headers: { "Content-Type": "text/plain" },
  });
  const [got] = await deliveriesTo("/text");
  assert.ok(got?.verified, got?.error);
  assert.equal(got.method, "PUT");
  assert.equal(got.body, "plain words");
  assert.equal(got.headers["content-type"], "text/plain");
});

test("a delivery signed with another key fails the Receiver (the check can fail)", async () => {
  const { Receiver } = await import("@upstash/qstash");
  const { signQStash } = await import("../src/qstash/signature.js");
  const wrong = signQStash({ url: "http://x/y", body: "b", key: "not-the-key" });
  const receiverCheck = new Receiver({ currentSigningKey: rig.keys.current, nextSigningKey: rig.keys.next });
  await assert.rejects(receiverCheck.verify({ signature: wrong, body: "b", url: "http://x/y" }));
  const right = signQStash({ url: "http://x/y", body: "b", key: rig.keys.current });
  await assert.rejects(receiverCheck.verify({ signature: right, body: "other", url: "http://x/y" }));
  assert.equal(await receiverCheck.verify({ signature: right, body: "b", url: "http://x/y" }), true);
});

test("enqueue to a queue: the job lands in that Keel queue and is delivered", async () => {
  const queue = rig.client(rig.publishToken).queue({ queueName: "emails" });
  const res = await queue.enqueueJSON({ url: `${receiver.origin}/queued`, body: { to: "a@example.com" } });
  const job = await engine.getJob(jobIdOfMessage(res.messageId));
  assert.equal(job.queue, "emails");
  const [got] = await deliveriesTo("/queued");
  assert.ok(got?.verified, got?.error);
  assert.equal(got.body, '{"to":"a@example.com"}');
});

test("batchJSON: every message stored and delivered, each to its queue", async () => {
  const res = await rig.client(rig.publishToken).batchJSON([
    { url: `${receiver.origin}/batch-a`, body: { i: 1 } },
    { url: `${receiver.origin}/batch-b`, body: { i: 2 }, queueName: "reports" },
  ]);
  assert.equal(res.length, 2);
  const jobs = await Promise.all(res.map((r) => engine.getJob(jobIdOfMessage(r.messageId))));
  assert.deepEqual(
    jobs.map((j) => j.queue),
    ["qstash", "reports"],
  );
  const [a] = await deliveriesTo("/batch-a");
  const [b] = await deliveriesTo("/batch-b");
  assert.ok(a?.verified && b?.verified);
  assert.equal(b?.body, '{"i":2}');
});

test("Upstash-Retries: retries + 1 attempts, each signed, then dead", async () => {
  rig.statusFor.set("/fails", 500);
  const res = await rig.client().publishJSON({ url: `${receiver.origin}/fails`, body: {}, retries: 2 });
  const id = jobIdOfMessage(res.messageId);
  const dead = await waitFor(async () => {
    const job = await engine.getJob(id);
    return job.state === "dead" ? job : undefined;
  });
  assert.equal(dead.attempts.length, 3);
  const got = await deliveriesTo("/fails", 3);
  assert.equal(got.length, 3);
  assert.ok(got.every((r) => r.verified));
  assert.deepEqual(
    got.map((r) => r.headers["upstash-retried"]),
    ["0", "1", "2"],
  );
});

test("Upstash-Delay and Not-Before set run-at; messages.get shows it; cancel stops the message", async () => {
  const client = rig.client();
  const before = Date.now();
  const delayed = await client.publishJSON({
    url: `${receiver.origin}/later`,
    body: { a: 1 },
    delay: "90m",
  });
  const message = await client.messages.get(delayed.messageId);
  assert.equal(message.messageId, delayed.messageId);
  assert.equal(message.url, `${receiver.origin}/later`);
  assert.equal(message.body, '{"a":1}');
  assert.ok(
    (message.notBefore ?? 0) >= before + 5_400_000 - 5_000 &&
      (message.notBefore ?? 0) <= Date.now() + 5_400_000 + 5_000,
  );
  const notBefore = Math.floor(Date.now() / 1000) + 86_400;
  const pinned = await client.publishJSON({ url: `${receiver.origin}/later`, body: {}, notBefore });
  assert.equal((await client.messages.get(pinned.messageId)).notBefore, notBefore * 1000);

  const cancelled = await client.messages.cancel(delayed.messageId);
  assert.deepEqual(cancelled, { cancelled: 1 });
  assert.equal((await engine.getJob(jobIdOfMessage(delayed.messageId))).state, "cancelled");
  await assert.rejects(client.messages.cancel(delayed.messageId), /job_already_finished/);
  await assert.rejects(client.messages.get("msg_999999999"), /job_not_found/);
});

test("Deduplication-Id and content-based deduplication return the unfinished message", async () => {
  const client = rig.client();
  const url = `${receiver.origin}/dedupe`;
  const first = await client.publishJSON({ url, body: { a: 1 }, delay: 3600, deduplicationId: "order-7" });
  const again = await client.publishJSON({ url, body: { a: 2 }, delay: 3600, deduplicationId: "order-7" });
  assert.equal(again.messageId, first.messageId);
  assert.equal(again.deduplicated, true);
  const c1 = await client.publishJSON({
    url,
    body: { same: true },
    delay: 3600,
    contentBasedDeduplication: true,
  });
  const c2 = await client.publishJSON({
    url,
    body: { same: true },
    delay: 3600,
    contentBasedDeduplication: true,
  });
  const c3 = await client.publishJSON({
    url,
    body: { same: false },
    delay: 3600,
    contentBasedDeduplication: true,
  });
  assert.equal(c2.messageId, c1.messageId);
  assert.notEqual(c3.messageId, c1.messageId);
});

test("Upstash-Timeout becomes the attempt's time limit", async () => {
  const res = await rig
    .client()
    .publishJSON({ url: `${receiver.origin}/t`, body: {}, timeout: "5s", delay: 3600 });
  const job = await engine.getJob(jobIdOfMessage(res.messageId));
  assert.equal("url" in job.target && job.target.timeoutMs, 5_000);
  assert.equal("url" in job.target && job.target.signing, "qstash");
});

test("schedules: create with cron, list, get, pause, resume, fire (verified), delete", async () => {
  const client = rig.client();
  const { scheduleId } = await client.schedules.create({
    destination: `${receiver.origin}/cron`,
    cron: "CRON_TZ=Europe/London 0 6 * * *",
    body: JSON.stringify({ job: "maintenance" }),
    retries: 1,
    headers: { "X-Job": "maintenance" },
  });
  assert.match(scheduleId, /^scd_/);
  const listed = await client.schedules.list();
  assert.deepEqual(
    listed.map((s) => s.scheduleId),
    [scheduleId],
  );
  const schedule = await client.schedules.get(scheduleId);
  assert.equal(schedule.cron, "CRON_TZ=Europe/London 0 6 * * *");
  assert.equal(schedule.destination, `${receiver.origin}/cron`);
  assert.equal(schedule.retries, 1);
  assert.equal(schedule.isPaused, false);
  assert.deepEqual(schedule.header?.["x-job"], ["maintenance"]);

  await client.schedules.pause({ schedule: scheduleId });
  assert.equal((await client.schedules.get(scheduleId)).isPaused, true);
  await client.schedules.resume({ schedule: scheduleId });
  assert.equal((await client.schedules.get(scheduleId)).isPaused, false);

  // A run now, as the scheduler makes at the cron's time.
  await engine.schedules.trigger(scheduleId);
  const [got] = await deliveriesTo("/cron");
  assert.ok(got?.verified, got?.error);
  assert.equal(got.body, '{"job":"maintenance"}');
  assert.equal(got.headers["x-job"], "maintenance");

  // Upstash-Schedule-Id names it; creating it again replaces it, as in QStash.
  const named = await client.schedules.create({
    destination: `${receiver.origin}/cron2`,
    cron: "*/5 * * * *",
    scheduleId: "nightly",
  });
  assert.equal(named.scheduleId, "nightly");
  await client.schedules.create({
    destination: `${receiver.origin}/cron3`,
    cron: "*/10 * * * *",
    scheduleId: "nightly",
  });
  assert.equal((await client.schedules.get("nightly")).destination, `${receiver.origin}/cron3`);

  await client.schedules.delete(scheduleId);
  await client.schedules.delete("nightly");
  assert.deepEqual(await client.schedules.list(), []);
  await assert.rejects(client.schedules.get(scheduleId), /schedule_not_found/);
});

/** The error the client throws, with Keel's envelope as its message. */
async function refusal(
  run: () => Promise<unknown>,
): Promise<{ status: number | undefined; code: string; message: string }> {
  try {
    await run();
  } catch (err) {
    assert.ok(err instanceof QstashError, String(err));
    const body = JSON.parse(err.message) as { error: { code: string; message: string } };
    return { status: err.status, ...body.error };
  }
  assert.fail("expected the request to be refused");
}

test("unsupported QStash features answer qstash_unsupported in Keel's envelope, naming the feature", async () => {
  const client = rig.client();
  const url = `${receiver.origin}/never`;
  const callback = await refusal(() =>
    client.publishJSON({ url, body: {}, callback: `${receiver.origin}/cb` }),
  );
  assert.equal(callback.status, 400);
  assert.equal(callback.code, "qstash_unsupported");
  assert.match(callback.message, /Upstash-Callback/);
  const failure = await refusal(() => client.publishJSON({ url, body: {}, failureCallback: url }));
  assert.match(failure.message, /Upstash-Failure-Callback/);
  const flow = await refusal(() =>
    client.publishJSON({ url, body: {}, flowControl: { key: "k", parallelism: 1 } }),
  );
  assert.match(flow.message, /flow control/);
  const group = await refusal(() => client.publishJSON({ urlGroup: "my-group", body: {} }));
  assert.equal(group.code, "qstash_unsupported");
  assert.match(group.message, /URL groups/);
  const dlq = await refusal(() => client.dlq.listMessages());
  assert.equal(dlq.code, "qstash_unsupported");
  assert.match(dlq.message, /GET \/v2\/dlq/);
  // Nothing was stored by any of them.
  assert.equal(receiver.verified.filter((r) => r.url === "/never").length, 0);
});

test("forwarded headers: ${VAR} is refused (no secret Keel was not told to send), reserved names too", async () => {
  const client = rig.client();
  const url = `${receiver.origin}/never`;
  const variable = await refusal(() =>
    client.publishJSON({ url, body: {}, headers: { Authorization: "Bearer ${KEEL_ADMIN_TOKEN}" } }),
  );
  assert.equal(variable.code, "target_variable_not_allowed");
  const other = await refusal(() =>
    client.publishJSON({ url, body: {}, headers: { "X-Key": "${STRIPE_KEY}" } }),
  );
  assert.equal(other.code, "target_variable_not_allowed");
  const reserved = await refusal(() =>
    client.publishJSON({ url, body: {}, headers: { "Webhook-Signature": "v1,forged" } }),
  );
  assert.equal(reserved.code, "invalid_argument");
  assert.match(reserved.message, /webhook-signature/);
});

test("auth: no token 401, publish token cannot cancel or create schedules (403), read-only cannot publish", async () => {
  const url = `${receiver.origin}/never`;
  const anonymous = await refusal(() => rig.client("not-a-token").publishJSON({ url, body: {} }));
  assert.equal(anonymous.status, 401);
  const publisher = rig.client(rig.publishToken);
  const pending = await publisher.publishJSON({ url, body: {}, delay: 3600 });
  const cancel = await refusal(() => publisher.messages.cancel(pending.messageId));
  assert.equal(cancel.status, 403);
  const schedule = await refusal(() => publisher.schedules.create({ destination: url, cron: "* * * * *" }));
  assert.equal(schedule.code, "forbidden");
  const reader = await engine.tokens.create({ name: "reader", scopes: ["read"] });
  const read = await refusal(() => rig.client(reader.token).publishJSON({ url, body: {} }));
  assert.equal(read.code, "forbidden");
  assert.equal((await rig.client(reader.token).messages.get(pending.messageId)).messageId, pending.messageId);
});
