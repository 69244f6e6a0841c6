import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, test } from "node:test";
import { CONTRACTS } from "@keel/protocol/contracts";
import Fastify, { type FastifyBaseLogger, type InjectOptions, type LightMyRequestResponse } from "fastify";
import { guardLeaks, testEngine } from "../../engine/test/helpers.js";
import { registerApi } from "../src/api/index.js";
import { memoryLogger } from "./helpers.js";

guardLeaks();
const ADMIN = `admin-${randomBytes(24).toString("hex")}`;
const engine = await testEngine();
const { logger, lines } = memoryLogger();
let clock = Date.parse("2030-01-01T00:00:00Z");
const app = Fastify({ loggerInstance: logger as FastifyBaseLogger });
registerApi(app, { engine, adminToken: ADMIN, production: true, logger, authFailures: { now: () => clock } });
await app.ready();
after(() => app.close());

/** Every response of this file, for the secrets check at the end. */
const seen: { body: string; headers: string; showsToken: boolean }[] = [];
let address = 0;
async function call(
  method: InjectOptions["method"],
  url: string,
  token: string | undefined,
  options: { payload?: unknown; remoteAddress?: string; showsToken?: boolean } = {},
): Promise<LightMyRequestResponse> {
  const res = await app.inject({
    method,
    url,
    // A fresh address per call unless a test needs one: failures must not add up across tests.
    remoteAddress: options.remoteAddress ?? `10.0.${Math.floor(++address / 250)}.${address % 250}`,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    ...(options.payload === undefined ? {} : { payload: options.payload as object }),
  });
  seen.push({
    body: res.body,
    headers: JSON.stringify(res.headers),
    showsToken: options.showsToken ?? false,
  });
  return res;
}

async function createToken(name: string, scopes: string[]): Promise<{ id: string; token: string }> {
  const res = await call("POST", "/v1/tokens", ADMIN, { payload: { name, scopes }, showsToken: true });
  assert.equal(res.statusCode, 201);
  return res.json();
}

const read = await createToken("reader", ["read"]);
const publish = await createToken("publisher", ["publish"]);

describe("authentication", () => {
  test("no token: 401 unauthorized with WWW-Authenticate: Bearer", async () => {
    const res = await call("GET", "/v1/queues", undefined);
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().error.code, "unauthorized");
    assert.match(String(res.headers["www-authenticate"]), /^Bearer realm="keel"$/);
  });

  test("not a bearer token, an unknown token, a near miss of the admin token: 401", async () => {
    const basic = await app.inject({ url: "/v1/queues", headers: { authorization: `Basic ${ADMIN}` } });
    assert.equal(basic.statusCode, 401);
    seen.push({ body: basic.body, headers: JSON.stringify(basic.headers), showsToken: false });
    for (const token of [`keel_${"A".repeat(32)}`, `${ADMIN}x`, ADMIN.slice(0, -1), "x"]) {
      const res = await call("GET", "/v1/queues", token);
      assert.equal(res.statusCode, 401, token.slice(0, 8));
      assert.match(String(res.headers["www-authenticate"]), /error="invalid_token"/);
    }
  });

  test("the admin token and API tokens are accepted", async () => {
    assert.equal((await call("GET", "/v1/queues", ADMIN)).statusCode, 200);
    assert.equal((await call("GET", "/v1/queues", read.token)).statusCode, 200);
  });

  test("a revoked token is refused at once", async () => {
    const doomed = await createToken("doomed", ["admin"]);
    assert.equal((await call("GET", "/v1/tokens", doomed.token)).statusCode, 200);
    assert.equal((await call("DELETE", `/v1/tokens/${doomed.id}`, ADMIN)).statusCode, 200);
    const res = await call("GET", "/v1/queues", doomed.token);
    assert.equal(res.statusCode, 401);
    assert.match(res.json().error.message, /unknown or revoked/);
  });

  test("public routes need no token", async () => {
    assert.equal((await call("GET", "/v1/openapi.json", undefined)).statusCode, 200);
    assert.equal((await call("GET", "/v1/docs", undefined)).statusCode, 200);
  });
});

describe("scopes", () => {
  const url = (path: string) => `/v1${path.replace(":id", "1").replace(":name", "default")}`;

  test("each route answers 403 forbidden exactly to tokens without its scope", async () => {
    for (const c of CONTRACTS.filter((c) => c.scope !== null)) {
      for (const [who, token] of [
        ["read", read.token],
        ["publish", publish.token],
      ] as const) {
        const allowed = c.scope === "read" || c.scope === who;
        const res = await call(c.method, url(c.path), token);
        if (allowed) assert.notEqual(res.statusCode, 403, `${who} ${c.method} ${c.path}`);
        else {
          assert.equal(res.statusCode, 403, `${who} ${c.method} ${c.path}`);
          assert.equal(res.json().error.code, "forbidden");
          assert.match(res.json().error.message, new RegExp(`'${c.scope}' scope`));
        }
      }
    }
  });

  test("publish can create jobs and read; read can only read", async () => {
    const job = { target: { handler: "a" } };
    assert.equal((await call("POST", "/v1/jobs", publish.token, { payload: job })).statusCode, 201);
    const batch = { jobs: [job, job] };
    assert.equal((await call("POST", "/v1/jobs/batch", publish.token, { payload: batch })).statusCode, 201);
    assert.equal((await call("GET", "/v1/jobs", publish.token)).statusCode, 200);
    assert.equal((await call("POST", "/v1/jobs", read.token, { payload: job })).statusCode, 403);
    assert.equal((await call("GET", "/v1/switches", read.token)).statusCode, 200);
    const off = { payload: { enabled: false } };
    assert.equal((await call("PUT", "/v1/switches/scheduling", read.token, off)).statusCode, 403);
  });
});

describe("slow-down of failed authentications", () => {
  test("the 11th request within a minute after 10 failures gets 429 with Retry-After", async () => {
    const from = { remoteAddress: "192.0.2.7" };
    for (let i = 0; i < 10; i++) {
      clock += 1_000;
      assert.equal((await call("GET", "/v1/queues", `keel_${"B".repeat(32)}`, from)).statusCode, 401);
    }
    const refused = await call("GET", "/v1/queues", ADMIN, from);
    assert.equal(refused.statusCode, 429);
    assert.equal(refused.json().error.code, "too_many_requests");
    assert.equal(refused.headers["retry-after"], "51");
    // Other addresses are not affected.
    assert.equal((await call("GET", "/v1/queues", ADMIN, { remoteAddress: "192.0.2.8" })).statusCode, 200);
    clock += 51_000;
    assert.equal((await call("GET", "/v1/queues", ADMIN, from)).statusCode, 200);
  });

  test("successes and 403s do not count as failures", async () => {
    const from = { remoteAddress: "192.0.2.9" };
    for (let i = 0; i < 12; i++) {
      assert.equal((await call("GET", "/v1/tokens", read.token, from)).statusCode, 403);
    }
    assert.equal((await call("GET", "/v1/queues", read.token, from)).statusCode, 200);
  });
});

describe("secrets", () => {
  test("tokens appear in no log line and no response but their creation", async () => {
    // A few more failing requests that carry the tokens.
    await call("POST", "/v1/jobs", read.token, { payload: { target: { handler: "a" }, secret: read.token } });
    await call("POST", "/v1/jobs", publish.token, { payload: `{"broken": "${publish.token}` });
    await call("POST", "/v1/jobs", ADMIN, { payload: { target: { url: ADMIN } } });
    await call("PUT", "/v1/switches/x", ADMIN, { payload: { enabled: ADMIN } });
    const log = JSON.stringify(lines);
    assert.ok(lines.length > 20, "requests were logged");
    const shown = seen.filter((r) => r.showsToken).map((r) => r.body);
    for (const token of [ADMIN, read.token, publish.token]) {
      assert.ok(!log.includes(token), "a token is in the log");
      for (const r of seen.filter((r) => !r.showsToken)) {
        assert.ok(!r.body.includes(token) && !r.headers.includes(token), "a token is in a response");
      }
    }
    assert.ok(
      shown.some((body) => body.includes(read.token)),
      "the creation response shows the token",
    );
  });
});
