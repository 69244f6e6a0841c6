import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, test } from "node:test";
import Fastify from "fastify";
import { guardLeaks, testEngine } from "../../engine/test/helpers.js";
import { clientKey, FailureLimiter } from "../src/api/failure-limiter.js";
import { registerApi } from "../src/api/index.js";

// The failed-authentication slow-down counts per client (IPv4 address, IPv6 /64) and lets
// exactly its limit of guesses through, however many arrive at once (issue 12, defect 12).

guardLeaks();
const ADMIN = `admin-${randomBytes(24).toString("hex")}`;
const engine = await testEngine();
const app = Fastify();
registerApi(app, { engine, adminToken: ADMIN, production: true });
await app.ready();
after(() => app.close());

const guess = () => `keel_${randomBytes(24).toString("base64url").slice(0, 32)}`;

async function statuses(requests: { token: string; from: string }[]): Promise<number[]> {
  const responses = await Promise.all(
    requests.map(({ token, from }) =>
      app.inject({
        method: "GET",
        url: "/v1/queues",
        remoteAddress: from,
        headers: { authorization: `Bearer ${token}` },
      }),
    ),
  );
  return responses.map((r) => r.statusCode);
}

const count = (list: number[], status: number) => list.filter((s) => s === status).length;

describe("failed-authentication slow-down", () => {
  test("50 concurrent guesses from one address: exactly 10 are checked (401), 40 refused (429)", async () => {
    const results = await statuses(
      Array.from({ length: 50 }, () => ({ token: guess(), from: "198.51.100.1" })),
    );
    assert.equal(count(results, 401), 10);
    assert.equal(count(results, 429), 40);
  });

  test("an IPv6 /64 is one client: guesses from 20 of its addresses share one budget", async () => {
    const from = (i: number) => `2001:db8:1:2:${i.toString(16)}::${i + 1}`;
    const results = await statuses(Array.from({ length: 20 }, (_, i) => ({ token: guess(), from: from(i) })));
    assert.equal(count(results, 401), 10);
    assert.equal(count(results, 429), 10);
    // Even a valid token from that /64 waits out the window; the next /64 is not affected.
    assert.deepEqual(await statuses([{ token: ADMIN, from: "2001:db8:1:2:ffff::9" }]), [429]);
    assert.deepEqual(await statuses([{ token: ADMIN, from: "2001:db8:1:3::1" }]), [200]);
  });

  test("an IPv4-mapped IPv6 address counts as its IPv4 address", async () => {
    const results = await statuses([
      ...Array.from({ length: 6 }, () => ({ token: guess(), from: "203.0.113.9" })),
      ...Array.from({ length: 6 }, () => ({ token: guess(), from: "::ffff:203.0.113.9" })),
    ]);
    assert.equal(count(results, 401), 10);
    assert.equal(count(results, 429), 2);
  });

  test("valid tokens are never refused for arriving together, even after 9 failures", async () => {
    const from = "198.51.100.77";
    const failures = await statuses(Array.from({ length: 9 }, () => ({ token: guess(), from })));
    assert.equal(count(failures, 401), 9);
    const results = await statuses(Array.from({ length: 60 }, () => ({ token: ADMIN, from })));
    assert.equal(count(results, 200), 60);
  });

  test("clientKey: IPv4 as is, IPv4-mapped as IPv4, IPv6 by /64 in every spelling", () => {
    assert.equal(clientKey("192.0.2.7"), "192.0.2.7");
    assert.equal(clientKey("::ffff:192.0.2.7"), "192.0.2.7");
    assert.equal(clientKey("::ffff:c000:207"), "192.0.2.7");
    assert.equal(clientKey("2001:db8::1"), "2001:db8:0:0::/64");
    assert.equal(clientKey("2001:0db8:0000:0000:ffff:1:2:3"), "2001:db8:0:0::/64");
    assert.equal(clientKey("2001:DB8:0:0:1::1%eth0"), "2001:db8:0:0::/64");
    assert.equal(clientKey("::1"), "0:0:0:0::/64");
    assert.equal(clientKey("fe80::1:2:3:4"), "fe80:0:0:0::/64");
    assert.equal(clientKey("not an address"), "not an address");
  });

  test("waiting attempts are capped: past maxWaiting an address is refused at once", async () => {
    const limiter = new FailureLimiter({ limit: 2, maxWaiting: 3 });
    const first = await limiter.admit("192.0.2.1");
    const second = await limiter.admit("192.0.2.1");
    assert.ok(!("retryAfterMs" in first) && !("retryAfterMs" in second));
    const waiting = [1, 2, 3].map(() => limiter.admit("192.0.2.1"));
    assert.deepEqual(await limiter.admit("192.0.2.1"), { retryAfterMs: 1_000 });
    // Both in flight fail: the budget is spent, every waiter is refused.
    first.failed();
    second.failed();
    for (const w of await Promise.all(waiting)) assert.ok("retryAfterMs" in w && w.retryAfterMs > 1_000);
  });
});
