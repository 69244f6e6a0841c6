import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, test } from "node:test";
import { csrfToken } from "@keel/engine";
import { deadJobs, guardLeaks, testEngine, waitFor } from "../../engine/test/helpers.js";
import { consoleSettings } from "../src/config/env.js";
import { buildApp } from "../src/http/app.js";

guardLeaks();
const ADMIN = `admin-${randomBytes(24).toString("hex")}`;
const PASSWORD = `pw-${randomBytes(24).toString("hex")}`;
const engine = await testEngine();
const app = buildApp({
  pool: engine.pool,
  schema: engine.schema,
  role: "all",
  api: { engine, adminToken: ADMIN, console: consoleSettings(undefined, PASSWORD, false) },
});
await app.ready();
after(() => app.close());

const HOST = "127.0.0.1:7070";
let address = 0;
const fresh = () => `10.9.${Math.floor(++address / 250)}.${address % 250}`;

async function signIn(credential: string, remoteAddress = fresh()) {
  return app.inject({
    method: "POST",
    url: "/console/sign-in",
    remoteAddress,
    headers: { host: HOST, origin: `http://${HOST}`, "content-type": "application/x-www-form-urlencoded" },
    payload: new URLSearchParams({ credential }).toString(),
  });
}

async function session(credential: string): Promise<string> {
  const res = await signIn(credential);
  assert.equal(res.statusCode, 303, res.body);
  const cookie = String(res.headers["set-cookie"]);
  const secret = /keel_console=([^;]+)/.exec(cookie)?.[1];
  assert.ok(secret);
  return secret;
}

function post(
  url: string,
  secret: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
) {
  return app.inject({
    method: "POST",
    url,
    remoteAddress: fresh(),
    headers: {
      host: HOST,
      origin: `http://${HOST}`,
      cookie: `keel_console=${secret}`,
      "content-type": "application/x-www-form-urlencoded",
      ...headers,
    },
    payload: new URLSearchParams(fields).toString(),
  });
}

const get = (url: string, secret?: string, host = HOST) =>
  app.inject({ url, headers: { host, ...(secret ? { cookie: `keel_console=${secret}` } : {}) } });

describe("console sign-in", () => {
  test("no page without a session: GETs redirect to sign-in, POSTs answer 401", async () => {
    const res = await get("/console/queues");
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, "/console/sign-in");
    await engine.upsertQueue("auth-q");
    const forged = await post("/console/queues/auth-q/pause", "kcs_".padEnd(47, "x"), { _csrf: "x" });
    assert.equal(forged.statusCode, 401);
    assert.match(forged.body, /console_signed_out/);
  });

  test("the cookie is HttpOnly, SameSite=Strict, and Secure with __Host- outside localhost", async () => {
    const local = await signIn(PASSWORD);
    assert.match(
      String(local.headers["set-cookie"]),
      /^keel_console=kcs_[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/,
    );
    const remote = await app.inject({
      method: "POST",
      url: "/console/sign-in",
      remoteAddress: fresh(),
      headers: { host: "keel.example.com", "content-type": "application/x-www-form-urlencoded" },
      payload: `credential=${PASSWORD}`,
    });
    assert.match(
      String(remote.headers["set-cookie"]),
      /^__Host-keel_console=kcs_.*; HttpOnly; SameSite=Strict; .*; Secure$/,
    );
  });

  test("every page carries a strict CSP and refuses framing", async () => {
    const res = await get("/console/sign-in");
    assert.match(
      String(res.headers["content-security-policy"]),
      /script-src 'self';.*frame-ancestors 'none'/,
    );
    assert.doesNotMatch(String(res.headers["content-security-policy"]), /unsafe-inline/);
    assert.equal(res.headers["x-frame-options"], "DENY");
    assert.doesNotMatch(res.body, /<script>|<script [^>]*>[^<]/, "no inline script");
  });

  test("tokens map to roles: admin, read+publish → operate, read; publish alone is refused", async () => {
    const mk = async (scopes: ("admin" | "publish" | "read")[]) =>
      (await engine.tokens.create({ name: scopes.join("+"), scopes })).token;
    const roleOf = async (credential: string) => {
      const res = await get("/console", await session(credential));
      return /· (read|operate|admin)</.exec(res.body)?.[1];
    };
    assert.equal(await roleOf(ADMIN), "admin");
    assert.equal(await roleOf(await mk(["read"])), "read");
    assert.equal(await roleOf(await mk(["read", "publish"])), "operate");
    assert.equal(await roleOf(await mk(["admin"])), "admin");
    const refused = await signIn(await mk(["publish"]));
    assert.equal(refused.statusCode, 401);
    assert.match(refused.body, /Sign-in failed/);
  });

  test("failed sign-ins are slowed like API authentication (the same limiter)", async () => {
    const from = "10.200.0.1";
    for (let i = 0; i < 10; i++) assert.equal((await signIn("wrong", from)).statusCode, 401);
    const slowed = await signIn(PASSWORD, from);
    assert.equal(slowed.statusCode, 429);
    assert.ok(Number(slowed.headers["retry-after"]) > 0);
    const api = await app.inject({
      url: "/v1/queues",
      remoteAddress: from,
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    assert.equal(api.statusCode, 429, "the API refuses the same address");
  });
});

describe("console actions", () => {
  test("an action needs the CSRF token and a same-site origin, and is audited as the console", async () => {
    await engine.upsertQueue("csrf-q");
    const secret = await session(PASSWORD);
    const noToken = await post("/console/queues/csrf-q/pause", secret, {});
    assert.equal(noToken.statusCode, 403);
    assert.match(noToken.body, /console_csrf_rejected/);
    const crossSite = await post(
      "/console/queues/csrf-q/pause",
      secret,
      { _csrf: csrfToken(secret) },
      { origin: "https://evil.example" },
    );
    assert.equal(crossSite.statusCode, 403);
    const fetchSite = await post(
      "/console/queues/csrf-q/pause",
      secret,
      { _csrf: csrfToken(secret) },
      { origin: "", "sec-fetch-site": "cross-site" },
    );
    assert.equal(fetchSite.statusCode, 403);
    assert.equal((await engine.listQueues()).find((q) => q.name === "csrf-q")?.paused, false);
    const ok = await post("/console/queues/csrf-q/pause", secret, { _csrf: csrfToken(secret) });
    assert.equal(ok.statusCode, 303);
    assert.equal((await engine.listQueues()).find((q) => q.name === "csrf-q")?.paused, true);
    const [entry] = await engine.auditLog.list({ action: "queue.pause", target: "queue:csrf-q" });
    assert.deepEqual(
      { actor: entry?.actor, details: entry?.details },
      { actor: "console:password", details: { wasPaused: false } },
    );
  });

  test("a schedule paused and resumed with a backfill choice, audited like the CLI's", async () => {
    await engine.schedules.upsert("console-s", {
      cron: "0 * * * *",
      timezone: "UTC",
      target: { handler: "h" },
    });
    const secret = await session(PASSWORD);
    const _csrf = csrfToken(secret);
    assert.equal((await post("/console/schedules/console-s/pause", secret, { _csrf })).statusCode, 303);
    assert.equal((await engine.schedules.get("console-s")).paused, true);
    const page = await get("/console/schedules/console-s", secret);
    assert.match(page.body, /keel schedules resume console-s \[--backfill latest\|all\]/);
    const res = await post("/console/schedules/console-s/resume", secret, { _csrf, backfill: "latest" });
    assert.equal(res.statusCode, 303);
    assert.equal((await engine.schedules.get("console-s")).paused, false);
    const [entry] = await engine.auditLog.list({ action: "schedule.resume", target: "schedule:console-s" });
    assert.equal((entry?.details as { backfill?: string } | undefined)?.backfill, "latest");
    assert.equal(entry?.actor, "console:password");
  });

  test("a read session sees no buttons and its POSTs answer 403", async () => {
    await engine.upsertQueue("read-q");
    const { token } = await engine.tokens.create({ name: "reader", scopes: ["read"] });
    const secret = await session(token);
    const pageRes = await get("/console/queues/read-q", secret);
    assert.equal(pageRes.statusCode, 200);
    assert.doesNotMatch(pageRes.body, /<button type="submit">Pause queue/);
    const res = await post("/console/queues/read-q/pause", secret, { _csrf: csrfToken(secret) });
    assert.equal(res.statusCode, 403);
    assert.match(res.body, /console_role_refused/);
    assert.equal((await get("/console/tokens", secret)).statusCode, 403);
  });

  test("failures grouped by fingerprint: a dry run of the group, its retry audited with the filter; read sessions may not", async () => {
    await deadJobs(engine, "fail-q", 3, {
      error: { code: "E_DNS", message: "lookup api-7.example failed after 3 tries" },
    });
    await deadJobs(engine, "fail-q", 1, { error: { code: "E_AUTH", message: "401 from upstream" } });
    const secret = await session(PASSWORD);
    const list = await get("/console/failures?queue=fail-q", secret);
    assert.equal(list.statusCode, 200);
    assert.match(list.body, /E_DNS: lookup api-&lt;n&gt;.example failed after &lt;n&gt; tries/);
    assert.match(list.body, /keel queues failures --queue fail-q/);
    const [group] = (await engine.failureGroups({ queue: "fail-q" })).filter((g) =>
      g.shape.startsWith("E_DNS"),
    );
    const fp = group?.fingerprint as string;
    assert.match(list.body, new RegExp(`href="/console/queues/fail-q/retry-dead\\?fingerprint=${fp}"`));
    const dry = await get(`/console/queues/fail-q/retry-dead?fingerprint=${fp}`, secret);
    assert.match(
      dry.body,
      /Dry run: <strong>3<\/strong> dead job\(s\) in queue fail-q matching these filters/,
    );
    assert.match(dry.body, new RegExp(`keel queues retry-dead fail-q --fingerprint ${fp}`));
    const res = await post("/console/queues/fail-q/retry-dead", secret, {
      _csrf: csrfToken(secret),
      fingerprint: fp,
    });
    assert.equal(res.statusCode, 303);
    assert.equal(await engine.countDead("fail-q"), 1, "the other group stays dead");
    const [entry] = await engine.auditLog.list({ action: "queue.retry_dead", target: "queue:fail-q" });
    assert.deepEqual(entry?.details, { retried: 3, filter: { fingerprint: fp } });

    const { token } = await engine.tokens.create({ name: "fail-reader", scopes: ["read"] });
    const reader = await session(token);
    const readList = await get("/console/failures?queue=fail-q", reader);
    assert.equal(readList.statusCode, 200);
    assert.doesNotMatch(readList.body, /Retry group/);
    assert.equal((await get(`/console/queues/fail-q/retry-dead?fingerprint=${fp}`, reader)).statusCode, 403);
    const refused = await post("/console/queues/fail-q/retry-dead", reader, { _csrf: csrfToken(reader) });
    assert.equal(refused.statusCode, 403);
    assert.equal(await engine.countDead("fail-q"), 1);
  });

  test("a queue shows its backlog per tenant and drains: enqueue off through the switch, jobs left counted", async () => {
    await engine.enqueueMany([
      { queue: "drain-q", target: { handler: "h" }, tenant: "acme" },
      { queue: "drain-q", target: { handler: "h" }, tenant: "acme" },
      { queue: "drain-q", target: { handler: "h" }, tenant: "globex" },
      { queue: "drain-q", target: { handler: "h" } },
    ]);
    const secret = await session(PASSWORD);
    const before = await get("/console/queues/drain-q", secret);
    assert.match(before.body, /tenant=acme">acme<\/a><\/td><td>2<\/td><td>0<\/td><td>0<\/td><td>2<\/td>/);
    assert.match(before.body, /keel switches set enqueue:drain-q off --reason drain/);
    const res = await post("/console/queues/drain-q/drain", secret, { _csrf: csrfToken(secret) });
    assert.equal(res.statusCode, 303);
    assert.equal(await engine.switches.isEnabled("enqueue:drain-q"), false);
    await assert.rejects(engine.enqueue({ queue: "drain-q", target: { handler: "h" } }), /enqueue/);
    const draining = await get("/console/queues/drain-q", secret);
    assert.match(
      draining.body,
      /Draining: enqueue is off \(switch enqueue:drain-q\); 4 unfinished job\(s\) left/,
    );
    const [entry] = await engine.auditLog.list({ action: "switch.set", target: "switch:enqueue:drain-q" });
    assert.deepEqual(entry?.details, { enabled: false, reason: "drain" });
    await post("/console/queues/drain-q/undrain", secret, { _csrf: csrfToken(secret) });
    assert.equal(await engine.switches.isEnabled("enqueue:drain-q"), true);
  });

  test("a bulk retry still running answers with its progress page, which refreshes until it is done", async () => {
    await deadJobs(engine, "slow-q", 5);
    const secret = await session(PASSWORD);
    // Another transaction holds history until the progress page has been seen: the retry waits.
    const blocker = await engine.pool.connect();
    let progress = "";
    try {
      await blocker.query("begin");
      await blocker.query(`lock table "${engine.schema}".job_history in exclusive mode`);
      const res = await post("/console/queues/slow-q/retry-dead", secret, { _csrf: csrfToken(secret) });
      assert.equal(res.statusCode, 303);
      progress = String(res.headers.location);
      assert.match(progress, /^\/console\/queues\/slow-q\/bulk\/[0-9a-f-]{36}$/);
      const running = await get(progress, secret);
      assert.match(running.body, /In progress: retried 0 of about 5 dead job\(s\) of queue slow-q/);
      assert.match(running.body, /<meta http-equiv="refresh" content="1">/);
      const { token } = await engine.tokens.create({ name: "slow-operator", scopes: ["read", "publish"] });
      assert.equal(
        (await get(progress, await session(token))).statusCode,
        400,
        "another actor's run is not shown",
      );
    } finally {
      await blocker.query("rollback");
      blocker.release();
    }
    const done = await waitFor(async () => {
      const body = (await get(progress, secret)).body;
      return body.includes("Done: retried 5 of about 5") ? body : undefined;
    });
    assert.doesNotMatch(done, /http-equiv="refresh"/);
    assert.equal(await engine.countDead("slow-q"), 0);
  });

  test("sign-out revokes the session server-side", async () => {
    const secret = await session(PASSWORD);
    assert.equal((await get("/console/", secret)).statusCode, 200, "with or without the trailing slash");
    const out = await post("/console/sign-out", secret, { _csrf: csrfToken(secret) });
    assert.equal(out.statusCode, 303);
    assert.equal((await get("/console", secret)).statusCode, 303, "the old cookie no longer works");
  });

  test("signing in again ends the browser's previous session", async () => {
    const first = await session(PASSWORD);
    const again = await app.inject({
      method: "POST",
      url: "/console/sign-in",
      remoteAddress: fresh(),
      headers: {
        host: HOST,
        origin: `http://${HOST}`,
        cookie: `keel_console=${first}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      payload: new URLSearchParams({ credential: PASSWORD }).toString(),
    });
    assert.equal(again.statusCode, 303);
    assert.equal((await get("/console", first)).statusCode, 303, "the first session is over");
  });

  test("an admin creates a token (shown once, on the answer to the form) and revokes it", async () => {
    const secret = await session(PASSWORD);
    const _csrf = csrfToken(secret);
    const created = await app.inject({
      method: "POST",
      url: "/console/tokens",
      remoteAddress: fresh(),
      headers: {
        host: HOST,
        origin: `http://${HOST}`,
        cookie: `keel_console=${secret}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      payload: `_csrf=${_csrf}&name=ci-bot&scope=read&scope=publish`,
    });
    assert.equal(created.statusCode, 200);
    const token = /<code class="secret">(keel_[0-9A-Za-z]{32})<\/code>/.exec(created.body)?.[1];
    assert.ok(token, "the new token is on the page");
    const info = await engine.tokens.verify(token);
    assert.deepEqual(info?.scopes, ["read", "publish"]);
    const list = await get("/console/tokens", secret);
    assert.ok(!list.body.includes(token), "and never again");
    const revoked = await post(`/console/tokens/${info?.id}/revoke`, secret, { _csrf });
    assert.equal(revoked.statusCode, 303);
    assert.equal(await engine.tokens.verify(token), null);
    const actions = (await engine.auditLog.list({ actor: "console:password" })).map((e) => e.action);
    assert.ok(actions.includes("token.create") && actions.includes("token.revoke"), actions.join());
  });

  test("a bulk replay shows a dry-run count, then replays the matching events in one audited step", async () => {
    const { source } = await engine.intake.sources.put(
      "bulk-src",
      { provider: "github", secrets: ["s"], routes: [{ target: { handler: "h" }, queue: "bulk" }] },
      { managedBy: "api" },
    );
    for (const id of ["d1", "d2"]) {
      await engine.intake.events.accept({
        source,
        eventId: id,
        type: "push",
        contentType: "application/json",
        headers: {},
        body: Buffer.from("{}"),
        verification: { provider: "github", secret: 1 },
      });
    }
    const secret = await session(PASSWORD);
    const dry = await get("/console/intake/replay?source=bulk-src", secret);
    assert.match(dry.body, /Dry run: <strong>2<\/strong> event\(s\) match source bulk-src/);
    assert.match(dry.body, /keel events replay --source bulk-src/);
    const res = await post("/console/intake/replay", secret, {
      _csrf: csrfToken(secret),
      source: "bulk-src",
    });
    assert.equal(res.statusCode, 303);
    assert.equal(
      res.headers.location,
      "/console/intake?source=bulk-src&done=event.replay_bulk&what=bulk-src&n=2",
    );
    const events = await engine.intake.events.list({ source: "bulk-src" });
    assert.deepEqual(
      events.map((e) => e.replays),
      [1, 1],
    );
    const [entry] = await engine.auditLog.list({ action: "event.replay_bulk" });
    assert.equal(entry?.actor, "console:password");
    const none = await post("/console/intake/replay", secret, { _csrf: csrfToken(secret) });
    assert.equal(none.statusCode, 400, "a replay of everything is refused");
  });

  test("text from the database is escaped", async () => {
    const secret = await session(PASSWORD);
    await engine.switches.set("process:x", false, { by: "t", reason: "<img src=x onerror=alert(1)>" });
    const res = await get("/console/switches", secret);
    assert.match(res.body, /&lt;img src=x onerror=alert\(1\)&gt;/);
    assert.doesNotMatch(res.body, /<img src=x/);
  });
});

test("KEEL_CONSOLE=off and production without a way to sign in serve no console", async () => {
  assert.deepEqual(consoleSettings("off", PASSWORD, false).enabled, false);
  assert.deepEqual(consoleSettings(undefined, undefined, true).enabled, false);
  assert.deepEqual(consoleSettings(undefined, PASSWORD, true), {
    enabled: true,
    tokens: false,
    password: PASSWORD,
  });
  assert.deepEqual(consoleSettings("on", undefined, true), {
    enabled: true,
    tokens: true,
    password: undefined,
  });
  const off = buildApp({
    pool: engine.pool,
    schema: engine.schema,
    role: "all",
    api: { engine, adminToken: ADMIN, console: consoleSettings("off", PASSWORD, false) },
  });
  try {
    assert.equal((await off.inject({ url: "/console/sign-in" })).statusCode, 404);
  } finally {
    await off.close();
  }
  // Production with only a console password: the password signs in, tokens do not.
  const passwordOnly = buildApp({
    pool: engine.pool,
    schema: engine.schema,
    role: "all",
    production: true,
    api: { engine, adminToken: ADMIN, console: consoleSettings(undefined, PASSWORD, true) },
  });
  try {
    const form = (credential: string) =>
      passwordOnly.inject({
        method: "POST",
        url: "/console/sign-in",
        remoteAddress: fresh(),
        headers: { host: HOST, "content-type": "application/x-www-form-urlencoded" },
        payload: new URLSearchParams({ credential }).toString(),
      });
    assert.match(
      (await passwordOnly.inject({ url: "/console/sign-in", headers: { host: HOST } })).body,
      /Console password/,
    );
    assert.equal((await form(ADMIN)).statusCode, 401);
    assert.equal((await form(PASSWORD)).statusCode, 303);
  } finally {
    await passwordOnly.close();
  }
});
