import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, describe, test } from "node:test";
import type { AcceptInput, Source } from "../../engine/src/index.js";
import { guardLeaks } from "../../engine/test/helpers.js";
import { contractCheckedApi } from "./api-harness.js";

// The /v1 routes of webhook intake, each answer checked against its contract.

guardLeaks();
const { engine, call, lastAudit } = await contractCheckedApi({ targetVariables: ["APP_TOKEN"] });

const literal = `lit_${randomBytes(16).toString("hex")}`;
process.env.INTAKE_API_SECRET = `ref_${randomBytes(16).toString("hex")}`;
after(() => delete process.env.INTAKE_API_SECRET);
const fingerprint = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 8);
const url = "https://app.example.com/hooks/stripe";

function accept(source: Source, eventId: string, type: string, body: Buffer | string = "{}"): AcceptInput {
  return {
    source,
    eventId,
    type,
    contentType: "application/json",
    headers: { "stripe-signature": "t=1,v1=ab", authorization: "Basic c2VjcmV0", "user-agent": "Stripe/1.0" },
    body: Buffer.from(body),
    verification: { provider: "stripe", secret: 1, timestamp: new Date(1000).toISOString() },
  };
}

describe("sources", () => {
  test("bad input answers 4xx naming the field, and nothing is saved", async () => {
    const cases: [object, number, string, RegExp][] = [
      [{ provider: "paypal", secrets: ["s"] }, 400, "invalid_argument", /provider/],
      [{ provider: "github" }, 400, "invalid_argument", /secrets/],
      [{ provider: "github", secrets: [] }, 400, "invalid_argument", /secrets/],
      [
        { provider: "github", secrets: ["s"], routes: [{ events: ["bad filter!"], target: { url } }] },
        400,
        "invalid_argument",
        /routes\[0\]\.events\[0\]/,
      ],
      [
        { provider: "github", secrets: ["s"], routes: [{ target: { url: "mailto:x@example.com" } }] },
        400,
        "invalid_target",
        /routes\[0\]\.target/,
      ],
      [{ provider: "hmac", secrets: ["s"] }, 400, "invalid_source", /hmac: the hmac provider needs/],
      [
        { provider: "github", secrets: ["${INTAKE_NOT_SET}"] },
        400,
        "invalid_source",
        /secrets\[0\]: \$\{INTAKE_NOT_SET\} is not set/,
      ],
      [
        { provider: "github", secrets: ["${DATABASE_URL}"] },
        400,
        "invalid_source",
        /one of Keel's own variables/,
      ],
      [{ provider: "github", secrets: ["s"], colour: "red" }, 400, "unknown_option", /colour/],
    ];
    for (const [body, status, code, message] of cases) {
      const res = await call("PUT", "/v1/sources/broken", body);
      assert.equal(res.statusCode, status, JSON.stringify(body));
      assert.equal(res.json().error.code, code, JSON.stringify(body));
      assert.match(res.json().error.message, message);
    }
    assert.equal((await call("GET", "/v1/sources/broken")).statusCode, 404);
    assert.deepEqual((await call("GET", "/v1/sources")).json(), { sources: [] });
  });

  test("PUT creates (201) then replaces (200); secrets never come back, only references and fingerprints", async () => {
    const definition = {
      provider: "stripe",
      secrets: ["${INTAKE_API_SECRET}", literal],
      routes: [{ events: ["invoice.*"], target: { url, headers: { authorization: "Bearer ${APP_TOKEN}" } } }],
    };
    const created = await call("PUT", "/v1/sources/stripe", definition);
    assert.equal(created.statusCode, 201);
    assert.deepEqual(created.json().secrets, [
      {
        reference: "${INTAKE_API_SECRET}",
        fingerprint: fingerprint(process.env.INTAKE_API_SECRET as string),
      },
      { reference: null, fingerprint: fingerprint(literal) },
    ]);
    assert.equal(created.json().url, "/in/stripe");
    assert.deepEqual(created.json().routes, [
      {
        events: ["invoice.*"],
        target: { url, headers: { authorization: "Bearer ${APP_TOKEN}" } },
        queue: "intake",
      },
    ]);
    const audit = await lastAudit();
    assert.deepEqual([audit?.action, audit?.target], ["source.put", "source:stripe"]);
    assert.deepEqual(audit?.details, { change: "created", provider: "stripe", secrets: 2, routes: 1 });

    const again = await call("PUT", "/v1/sources/stripe", definition);
    assert.equal(again.statusCode, 200);
    assert.equal((await lastAudit())?.id, audit?.id, "an identical PUT changes nothing and is not audited");
    for (const res of [
      created,
      again,
      await call("GET", "/v1/sources"),
      await call("GET", "/v1/sources/stripe"),
    ]) {
      assert.equal(res.body.includes(literal), false, "a stored secret came back");
      assert.equal(res.body.includes(process.env.INTAKE_API_SECRET as string), false);
    }
  });

  test("a source the config file declares cannot be changed or removed through the API", async () => {
    await engine.intake.sources.put(
      "from-file",
      { provider: "github", secrets: ["${GH}"] },
      { managedBy: "config" },
    );
    const put = await call("PUT", "/v1/sources/from-file", { provider: "github", secrets: ["other"] });
    assert.equal(put.statusCode, 409);
    assert.equal(put.json().error.code, "source_managed_by_config");
    const del = await call("DELETE", "/v1/sources/from-file");
    assert.equal(del.json().error.code, "source_managed_by_config");
    assert.equal((await engine.intake.sources.get("from-file")).secrets[0], "${GH}");
    assert.equal((await call("GET", "/v1/sources/from-file")).json().managedBy, "config");
  });

  test("recent rejections of a source; unknown source 404", async () => {
    await engine.intake.sources.recordRejections([
      {
        source: "stripe",
        reason: "bad_signature",
        detail: "no v1 signature matches",
        headers: { "stripe-signature": "t=1,v1=00", cookie: "[redacted]" },
        bodySize: 321,
        requestId: "req-1",
      },
    ]);
    const res = await call("GET", "/v1/sources/stripe/rejections?limit=10");
    assert.equal(res.statusCode, 200);
    const [r] = res.json().rejections;
    assert.deepEqual(
      [r.reason, r.bodySize, r.requestId, r.headers.cookie],
      ["bad_signature", 321, "req-1", "[redacted]"],
    );
    assert.equal((await call("GET", "/v1/sources/nope/rejections")).json().error.code, "source_not_found");
  });
});

describe("events", () => {
  test("list with filters and cursor pages; show with raw body, redacted headers, deliveries", async () => {
    const stripe = await engine.intake.sources.get("stripe");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(
        (
          await engine.intake.events.accept(
            accept(stripe, `evt_${i}`, i % 2 ? "invoice.paid" : "charge.failed"),
          )
        ).id,
      );
    }
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
    const odd = (await engine.intake.events.accept(accept(stripe, "evt_binary", "invoice.created", binary)))
      .id;

    const first = await call("GET", "/v1/events?source=stripe&type=invoice.*&limit=2");
    assert.equal(first.statusCode, 200);
    assert.deepEqual(
      first.json().events.map((e: { id: string }) => e.id),
      [odd, ids[3]],
    );
    const second = await call(
      "GET",
      `/v1/events?source=stripe&type=invoice.*&limit=2&cursor=${first.json().nextCursor}`,
    );
    assert.deepEqual(
      second.json().events.map((e: { id: string }) => e.id),
      [ids[1]],
    );
    assert.equal(second.json().nextCursor, null);
    const unrouted = await call("GET", "/v1/events?status=unrouted&source=stripe");
    assert.deepEqual(
      unrouted.json().events.map((e: { type: string }) => e.type),
      ["charge.failed", "charge.failed", "charge.failed"],
    );
    assert.equal((await call("GET", "/v1/events?status=lost")).json().error.code, "invalid_argument");

    const shown = (await call("GET", `/v1/events/${ids[1]}`)).json();
    assert.deepEqual(
      [shown.body, shown.bodyEncoding, shown.status, shown.jobsCreated, shown.verification.secret],
      ["{}", "utf8", "pending", 1, 1],
    );
    assert.equal(shown.headers.authorization, "[redacted]");
    assert.equal(shown.headers["stripe-signature"], "t=1,v1=ab");
    assert.deepEqual(
      shown.deliveries.map((d: { queue: string; origin: unknown }) => [d.queue, d.origin]),
      [["intake", { source: "stripe", event: ids[1] }]],
    );
    assert.equal(shown.deliveries[0].target.headers.authorization, "Bearer ${APP_TOKEN}");
    const raw = (await call("GET", `/v1/events/${odd}`)).json();
    assert.deepEqual([raw.bodyEncoding, Buffer.from(raw.body, "base64").equals(binary)], ["base64", true]);
    assert.equal((await call("GET", "/v1/events/999999999")).json().error.code, "event_not_found");
  });

  test("replay one (audited) and in bulk by filter; bulk needs a filter", async () => {
    const [event] = (await call("GET", "/v1/events?type=invoice.paid&limit=1")).json().events;
    const replay = await call("POST", `/v1/events/${event.id}/replay`);
    assert.equal(replay.statusCode, 200);
    assert.equal(replay.json().jobs.length, 1);
    assert.deepEqual(
      [(await lastAudit())?.action, (await lastAudit())?.target],
      ["event.replay", `event:${event.id}`],
    );
    const after = (await call("GET", `/v1/events/${event.id}`)).json();
    assert.deepEqual([after.replays, after.deliveries.length], [1, 2]);

    const bulk = await call("POST", "/v1/events/replay", { source: "stripe", type: "invoice.*", limit: 2 });
    assert.equal(bulk.statusCode, 200);
    assert.deepEqual([bulk.json().replayed, bulk.json().jobs, bulk.json().skipped], [2, 2, 0]);
    assert.ok(bulk.json().nextCursor);
    const rest = await call("POST", "/v1/events/replay", {
      source: "stripe",
      type: "invoice.*",
      cursor: bulk.json().nextCursor,
    });
    assert.deepEqual([rest.json().replayed, rest.json().nextCursor], [1, null]);
    assert.equal((await lastAudit())?.action, "event.replay_bulk");

    const unfiltered = await call("POST", "/v1/events/replay", {});
    assert.equal(unfiltered.statusCode, 400);
    assert.match(unfiltered.json().error.message, /at least one filter/);
  });

  test("removing a source keeps its events; replaying them then says the source is gone", async () => {
    const [event] = (await call("GET", "/v1/events?source=stripe&limit=1")).json().events;
    const removed = await call("DELETE", "/v1/sources/stripe");
    assert.deepEqual(removed.json(), { name: "stripe", removed: true });
    assert.equal((await call("GET", "/v1/sources/stripe")).statusCode, 404);
    assert.equal((await call("GET", `/v1/events/${event.id}`)).statusCode, 200);
    const replay = await call("POST", `/v1/events/${event.id}/replay`);
    assert.equal(replay.json().error.code, "source_not_found");
    const bulk = await call("POST", "/v1/events/replay", { source: "stripe" });
    assert.deepEqual([bulk.json().replayed, bulk.json().skipped], [0, 6]);
  });
});
