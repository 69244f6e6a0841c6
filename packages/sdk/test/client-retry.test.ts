/**
 * The client's retry rules on real HTTP servers that answer as scripted, and its operation table
 * checked against the server's contracts (so a new route without a client method fails).
 */
import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { test } from "node:test";
import { CONTRACTS } from "@keel/protocol/contracts";
import {
  KeelClient,
  KeelNetworkError,
  KeelServerError,
  OPERATIONS,
  type ResponseInfo,
} from "../src/index.js";
import { startScriptedServer, startSilentServer } from "./fixtures/client-servers.js";

const fast = { attempts: 4, baseDelayMs: 5, maxDelayMs: 20 };
function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
}

test("the client's operations are exactly the server's routes; keyed exactly where the server honours Idempotency-Key", () => {
  const table = OPERATIONS as Record<string, { method: string; path: string; retry: string }>;
  const missing = CONTRACTS.filter((c) => !table[c.operationId]).map((c) => c.operationId);
  assert.deepEqual(missing, [], "routes the SDK has no operation for: add them to client/operations.ts");
  const ids = new Set(CONTRACTS.map((c) => c.operationId));
  assert.deepEqual(
    Object.keys(table).filter((id) => !ids.has(id)),
    [],
    "operations the server no longer has",
  );
  for (const c of CONTRACTS) {
    const op = table[c.operationId];
    assert.equal(op?.method, c.method, c.operationId);
    assert.equal(op?.path, c.path, c.operationId);
    assert.equal(op?.retry === "keyed", c.idempotent === true, `${c.operationId}: keyed iff idempotent`);
    if (c.method === "POST" && !c.idempotent) assert.notEqual(op?.retry, "keyed");
  }
});

test("5xx and a dropped answer are retried with the same Idempotency-Key", async () => {
  const server = await startScriptedServer((n, _req, res) => {
    if (n === 1) return res.writeHead(502, { "content-type": "text/html" }).end("<h1>bad gateway</h1>");
    if (n === 2) return res.socket?.destroy();
    if (n === 3)
      return json(
        res,
        409,
        { error: { code: "idempotency_in_flight", message: "wait" } },
        { "retry-after": "0" },
      );
    json(res, 201, { id: "7", state: "available", deduplicated: false });
  });
  const seen: ResponseInfo[] = [];
  const client = new KeelClient({
    baseUrl: server.url,
    token: "t",
    retry: fast,
    onResponse: (r) => seen.push(r),
  });
  const out = await client.jobs.create({ target: { handler: "h" } });
  assert.deepEqual(out, { id: "7", state: "available", deduplicated: false });
  assert.equal(server.requests.length, 4);
  const keys = new Set(server.requests.map((r) => r.headers["idempotency-key"]));
  assert.equal(keys.size, 1, "one key for every try");
  assert.match(String([...keys][0]), /^[0-9a-f-]{36}$/);
  assert.deepEqual(
    seen.map((r) => [r.attempt, r.status]),
    [
      [1, 502],
      [3, 409],
      [4, 201],
    ],
  );
  assert.ok(server.requests.every((r) => r.headers.authorization === "Bearer t"));
  // A second logical call gets its own key.
  await client.jobs.create({ target: { handler: "h" } });
  assert.notEqual(server.requests[4]?.headers["idempotency-key"], [...keys][0]);
});

test("calls Keel cannot replay are sent once; a proxy's HTML error is an unexpected_response", async () => {
  const server = await startScriptedServer((_n, _req, res) =>
    res.writeHead(503, { "content-type": "text/html" }).end("<p>down</p>"),
  );
  const client = new KeelClient({ baseUrl: `${server.url}/v1`, token: "t", retry: fast });
  const err = await client.tokens.create({ name: "x", scopes: ["read"] }).catch((e: unknown) => e);
  assert.ok(err instanceof KeelServerError);
  assert.equal(err.code, "unexpected_response");
  assert.equal(err.status, 503);
  assert.equal(server.requests.length, 1, "token creation is not retried after it was sent");
  assert.equal(server.requests[0]?.url, "/v1/tokens", "a baseUrl ending in /v1 is accepted");
  assert.equal(server.requests[0]?.headers["idempotency-key"], undefined);
  await client.jobs.get("1").catch(() => {});
  assert.equal(server.requests.length, 1 + fast.attempts, "reads are retried up to attempts");
});

test("Retry-After beyond the limit surfaces the error at once", async () => {
  const server = await startScriptedServer((_n, _req, res) =>
    json(res, 429, { error: { code: "too_many_requests", message: "slow down" } }, { "retry-after": "600" }),
  );
  const client = new KeelClient({ baseUrl: server.url, retry: fast });
  const err = await client.queues.list().catch((e: unknown) => e);
  assert.ok(err instanceof Error && "retryAfterSeconds" in err);
  assert.equal(err.retryAfterSeconds, 600);
  assert.equal(server.requests.length, 1);
});

test("an attempt without an answer times out as a KeelNetworkError; the caller's abort is not retried", async () => {
  const url = await startSilentServer();
  const client = new KeelClient({ baseUrl: url, timeoutMs: 100, retry: { ...fast, attempts: 2 } });
  const err = await client.queues.list().catch((e: unknown) => e);
  assert.ok(err instanceof KeelNetworkError);
  assert.equal(err.timedOut, true);
  assert.match(err.message, /no answer within 100 ms/);

  const controller = new AbortController();
  const pending = client.jobs.create({ target: { handler: "h" } }, { signal: controller.signal });
  controller.abort(new Error("user gave up"));
  await assert.rejects(pending, /user gave up/);
});
