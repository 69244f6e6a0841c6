/**
 * An app written for QStash, moved to Keel by its environment alone: its `@upstash/qstash` Client
 * publishes to Keel, Keel delivers with an `Upstash-Signature` its `Receiver` accepts, and a
 * request without a valid signature is refused by the same code.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { waitFor } from "../../packages/engine/test/helpers.js";
import { listenFirst, startKeelFor } from "../keel-for-tests.js";
import { createApp } from "./app.js";

const DIR = fileURLToPath(new URL(".", import.meta.url));
const keys = {
  current: `sig_${randomBytes(16).toString("hex")}`,
  next: `sig_${randomBytes(16).toString("hex")}`,
};
const http = await listenFirst();
const keel = await startKeelFor(DIR, {
  KEEL_QSTASH_CURRENT_SIGNING_KEY: keys.current,
  KEEL_QSTASH_NEXT_SIGNING_KEY: keys.next,
});
// The only change from the app's Upstash setup: these values.
const app = createApp({
  QSTASH_URL: keel.url,
  QSTASH_TOKEN: keel.adminToken,
  QSTASH_CURRENT_SIGNING_KEY: keys.current,
  QSTASH_NEXT_SIGNING_KEY: keys.next,
  APP_URL: http.url,
});
http.serve(app.handler);

test("a signup publishes through Keel, and the job endpoint's Receiver accepts Keel's delivery", async () => {
  const res = await fetch(`${http.url}/signup`, { method: "POST", body: JSON.stringify({ userId: "u-42" }) });
  assert.equal(res.status, 202, await res.clone().text());
  const { messageId } = (await res.json()) as { messageId: string };
  assert.match(messageId, /^msg_\d+$/);
  await waitFor(() => app.sent.includes("u-42"), 20_000, "the welcome job delivered and verified");
  assert.deepEqual(app.sent, ["u-42"]);
});

test("the same endpoint refuses a request Keel did not sign", async () => {
  const forged = await fetch(`${http.url}/api/jobs/welcome`, {
    method: "POST",
    headers: { "upstash-signature": "eyJhbGciOiJIUzI1NiJ9.e30.invalid" },
    body: JSON.stringify({ userId: "intruder" }),
  });
  assert.equal(forged.status, 401);
  assert.ok(!app.sent.includes("intruder"));
});
