/**
 * End to end, as a user would run it: `keel start` with no DATABASE_URL (embedded Postgres),
 * the development admin token read from what Keel printed, 1,000 jobs created through the HTTP
 * API, delivered to a local receiver that verifies every request with the standardwebhooks
 * package and fails 30% of first attempts with 500.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Webhook } from "standardwebhooks";
import { waitFor } from "../../engine/test/helpers.js";
import { newSecret, startEndpoint } from "./fixtures/delivery-servers.js";
import { guardServerLeaks, logLine, spawnKeel, tempDir } from "./helpers.js";

guardServerLeaks();

test("keel start on embedded Postgres: 1,000 jobs through the API, all delivered and verified", async () => {
  const secret = newSecret();
  const verifier = new Webhook(secret);
  let unverifiable = 0;
  const endpoint = await startEndpoint((req, res) => {
    try {
      verifier.verify(req.body, {
        "webhook-id": String(req.headers["webhook-id"]),
        "webhook-timestamp": String(req.headers["webhook-timestamp"]),
        "webhook-signature": String(req.headers["webhook-signature"]),
      });
    } catch {
      unverifiable++;
    }
    const failFirst = Number(req.headers["keel-job-id"]) % 10 < 3 && req.headers["keel-attempt"] === "1";
    res.writeHead(failFirst ? 500 : 200).end(failFirst ? "try again" : "ok");
  });
  const keel = spawnKeel(["start"], {
    KEEL_DATA_DIR: tempDir("e2e"),
    PORT: "0",
    KEEL_SIGNING_SECRET: secret,
  });
  try {
    await waitFor(
      () => logLine(keel, "keel started") ?? keel.child.exitCode !== null,
      60_000,
      "keel started",
    );
    const port = logLine(keel, "keel started")?.port as number;
    assert.ok(port, `keel did not start: ${keel.other.join("\n")}`);
    const token = await waitFor(
      () => keel.other.join("\n").match(/keel_[0-9A-Za-z]{32}/)?.[0],
      5_000,
      "the token",
    );
    assert.ok(
      keel.lines.every((l) => !JSON.stringify(l).includes(token)),
      "the generated token is printed once as text, never in a log line",
    );
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`http://127.0.0.1:${port}/v1${path}`, {
        ...init,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...init.headers },
      });
    const batch = JSON.stringify({
      jobs: Array.from({ length: 1000 }, (_, i) => ({
        queue: "hooks",
        target: { url: `${endpoint.origin}/hook`, headers: { "x-app": "e2e" } },
        payload: { i },
        backoff: { type: "fixed", delayMs: 200 },
      })),
    });
    const created = await api("/jobs/batch", {
      method: "POST",
      headers: { "idempotency-key": "e2e-batch-1" },
      body: batch,
    });
    assert.equal(created.status, 201, await created.clone().text());
    const { jobs } = (await created.json()) as { jobs: { id: string }[] };
    assert.equal(jobs.length, 1000);
    // The same request again with its key: replayed, nothing new created.
    const replay = await api("/jobs/batch", {
      method: "POST",
      headers: { "idempotency-key": "e2e-batch-1" },
      body: batch,
    });
    assert.equal(replay.headers.get("idempotent-replayed"), "true");
    await waitFor(
      async () => {
        const res = await api("/queues");
        const { queues } = (await res.json()) as {
          queues: { name: string; counts: Record<string, number> }[];
        };
        return queues.find((q) => q.name === "hooks")?.counts.succeeded === 1000;
      },
      120_000,
      "all 1,000 delivered",
    );
    const failedFirst = jobs.filter((j) => Number(j.id) % 10 < 3).length;
    assert.equal(
      endpoint.received.length,
      1000 + failedFirst,
      "one retry per failed first attempt, nothing else",
    );
    assert.equal(unverifiable, 0, "every request verifies with standardwebhooks");
    const sample = jobs.find((j) => Number(j.id) % 10 < 3) as { id: string };
    const job = (await (await api(`/jobs/${sample.id}`)).json()) as {
      state: string;
      attempts: { outcome: string; responseStatus: number; responseBody: string }[];
    };
    assert.equal(job.state, "succeeded");
    assert.deepEqual(
      job.attempts.map((a) => [a.outcome, a.responseStatus, a.responseBody]),
      [
        ["failed", 500, "try again"],
        ["succeeded", 200, "ok"],
      ],
    );
    keel.child.kill("SIGTERM");
    assert.equal((await keel.exited).code, 0);
  } finally {
    await endpoint.close();
  }
});
