import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import type { AcceptInput, Source } from "../../engine/src/index.js";
import { guardLeaks, testDatabaseUrl, testEngine } from "../../engine/test/helpers.js";
import { type CliRun, runKeel } from "./helpers.js";

// `keel events …` and `keel sources …` as a real subprocess against a schema this file migrates.

guardLeaks();
const ESC = "\u001b";
const engine = await testEngine();
const DB = { DATABASE_URL: testDatabaseUrl(), KEEL_SCHEMA: engine.schema };
const literal = "cli-literal-secret-value";

type Run = CliRun;

/** `keel …` on pipes (no TTY); or on a pseudo-terminal. */
function keel(args: string[], options: { tty?: boolean } = {}): Promise<Run> {
  return runKeel(args, DB, options);
}

const { source } = await engine.intake.sources.put(
  "shop",
  {
    provider: "shopify",
    secrets: [literal],
    routes: [{ events: ["orders/*"], target: { handler: "orders" }, queue: "orders" }],
  },
  { managedBy: "api" },
);

function event(s: Source, id: string, type: string, body = '{"id":1}'): AcceptInput {
  return {
    source: s,
    eventId: id,
    type,
    contentType: "application/json",
    headers: { "x-shopify-topic": type, "x-shopify-access-token": "shpat_secret" },
    body: Buffer.from(body),
    verification: { provider: "shopify", secret: 1 },
  };
}

describe("keel events", () => {
  test("list and show, human and JSON; secrets in headers redacted; unknown ids exit 3", async () => {
    const { id } = await engine.intake.events.accept(
      event(source, "w-1", "orders/create", `{"note":"${ESC}[31m"}`),
    );
    await engine.intake.events.accept(event(source, "w-2", "customers/update"));
    const [list, json, show, showJson, missing] = await Promise.all([
      keel(["events", "list", "--source", "shop"]),
      keel(["events", "list", "--type", "orders/*", "--json"]),
      keel(["events", "show", id]),
      keel(["events", "show", id, "--json"]),
      keel(["events", "show", "999999999"]),
    ]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^\s*ID\s+SOURCE\s+TYPE\s+STATUS/);
    assert.match(list.stdout, /shop\s+customers\/update\s+unrouted/);
    assert.match(list.stdout, /shop\s+orders\/create\s+pending/);
    assert.deepEqual(
      JSON.parse(json.stdout).events.map((e: { eventId: string }) => e.eventId),
      ["w-1"],
    );
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /x-shopify-access-token: \[redacted\]/);
    assert.doesNotMatch(show.stdout, /shpat_secret/);
    assert.match(show.stdout, /\{"note":"\\u001b\[31m"\}/, "control characters escaped");
    assert.match(show.stdout, /orders\s+available\s+0\/\d+/);
    const shown = JSON.parse(showJson.stdout);
    assert.equal(Buffer.from(shown.body, "base64").toString(), `{"note":"${ESC}[31m"}`);
    assert.equal(shown.headers["x-shopify-access-token"], "[redacted]");
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /Event 999999999 does not exist/);
  });

  test("replay one and in bulk by filter, audited; bulk without a filter exits 2", async () => {
    const { id } = await engine.intake.events.accept(event(source, "w-3", "orders/paid"));
    const one = await keel(["events", "replay", id, "--json"]);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(JSON.parse(one.stdout).jobs.length, 1);
    const bulk = await keel(["events", "replay", "--source", "shop", "--type", "orders/*"]);
    assert.equal(bulk.code, 0, bulk.stderr);
    assert.match(bulk.stdout, /^Replayed 2 events: 2 jobs made\.$/m);
    assert.equal(bulk.stderr, "", "no progress bar off a terminal");
    const none = await keel(["events", "replay"]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /at least one filter/);
    const audit = await engine.auditLog.list({ limit: 2 });
    assert.deepEqual(
      audit.map((a) => a.action),
      ["event.replay_bulk", "event.replay"],
    );
    assert.match(String(audit[0]?.actor), /^cli:/);
  });

  const hasScript = process.platform === "linux" && spawnSync("script", ["--version"]).status === 0;
  test("bulk replay draws a progress bar on a terminal", {
    skip: !hasScript && "needs util-linux script",
  }, async () => {
    await Promise.all(
      Array.from({ length: 450 }, (_, i) =>
        engine.intake.events.accept(event(source, `tty-${i}`, "orders/tty")),
      ),
    );
    const run = await keel(["events", "replay", "--type", "orders/tty"], { tty: true });
    assert.equal(run.code, 0, run.stdout);
    const redraws = run.stdout.split(`\r${ESC}[K`).slice(1);
    assert.match(redraws.join("\n"), /^replaying events \[[█░]+\] 200\/450 {2}44%$/m);
    assert.match(run.stdout, /450\/450 100%/);
    assert.match(redraws.at(-1) ?? "", /^Replayed 450 events: 450 jobs made\./);
  });
});

describe("keel sources", () => {
  test("list shows fingerprints, never secrets; rejections by name", async () => {
    await engine.intake.sources.recordRejections([
      {
        source: "shop",
        reason: "bad_signature",
        detail: "the HMAC does not match",
        headers: {},
        bodySize: 12,
        requestId: null,
      },
    ]);
    const [list, json, rejections, unknown] = await Promise.all([
      keel(["sources", "list"]),
      keel(["sources", "list", "--json"]),
      keel(["sources", "rejections", "shop"]),
      keel(["sources", "rejections", "nope"]),
    ]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /shop\s+shopify\s+\/in\/shop\s+stored:[0-9a-f]{8}\s+1\s+api/);
    for (const out of [list.stdout, json.stdout]) assert.equal(out.includes(literal), false);
    assert.equal(JSON.parse(json.stdout).sources[0].secrets[0].reference, null);
    assert.match(rejections.stdout, /bad_signature\s+12\s+the HMAC does not match/);
    assert.equal(unknown.code, 3);
  });
});
