import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { after, describe, test } from "node:test";
import { Engine, isKeelError } from "@keel/engine";
import { freshSchema, testDatabaseUrl } from "../../engine/test/helpers.js";
import { buildApp } from "../src/http/app.js";
import { startKeel } from "../src/runtime/start.js";
import { guardServerLeaks, memoryLogger } from "./helpers.js";

// Every error Keel answers is in its envelope, including those raised before a route runs,
// and fatal start errors carry a registry code (issue 12, defect 11).

const engine = await Engine.connect({
  migrate: true,
  connectionString: testDatabaseUrl(),
  schema: freshSchema("edge"),
});
after(() => engine.close());
guardServerLeaks();

const ADMIN = `admin-${randomBytes(24).toString("hex")}`;
await engine.intake.sources.put(
  "forms",
  { provider: "github", secrets: [randomBytes(20).toString("hex")], bodyLimitBytes: 1024 },
  { managedBy: "api" },
);
const app = buildApp({
  pool: engine.pool,
  schema: engine.schema,
  role: "all",
  production: true,
  api: { engine, adminToken: ADMIN },
});
await app.listen({ port: 0, host: "127.0.0.1" });
after(() => app.close());
const port = (app.server.address() as AddressInfo).port;
const base = `http://127.0.0.1:${port}`;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request through node:http, which sends what it is given (fetch would normalise the path). */
function send(method: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, method, path, headers }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => {
        body += c.toString("utf8");
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Raw bytes on a socket: the whole answer, until the server closes or `until` matches. */
function raw(bytes: string, until?: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let text = "";
    socket.on("data", (c: Buffer) => {
      text += c.toString("utf8");
      if (until?.test(text)) {
        socket.destroy();
        resolve(text);
      }
    });
    socket.on("close", () => resolve(text));
    socket.on("error", reject);
    socket.write(bytes);
  });
}

function envelope(text: string): { code: string; message: string } {
  const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
  assert.equal(typeof parsed.error?.code, "string", text);
  assert.equal(typeof parsed.error?.message, "string", text);
  assert.deepEqual(Object.keys(parsed), ["error"]);
  return parsed.error as { code: string; message: string };
}

describe("errors outside the routes, in the envelope", () => {
  test("GET, PUT, HEAD on /in/<source>: 405 method_not_allowed with Allow: POST", async () => {
    for (const method of ["GET", "PUT", "DELETE"]) {
      const res = await send(method, "/in/forms");
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.allow, "POST");
      assert.equal(envelope(res.body).code, "method_not_allowed");
      assert.match(
        envelope(res.body).message,
        new RegExp(`${method} is not allowed on /in/<source>; use POST`),
      );
    }
    const head = await send("HEAD", "/in/forms");
    assert.equal(head.status, 405);
    assert.equal(head.headers.allow, "POST");
  });

  test("an unknown path outside /v1: 404 not_found", async () => {
    const res = await send("GET", "/nothing/here");
    assert.equal(res.status, 404);
    assert.equal(envelope(res.body).code, "not_found");
  });

  test("%ff in a path: 400 invalid_url", async () => {
    for (const path of ["/v1/jobs/%ff", "/in/%ff"]) {
      const res = await send("GET", path);
      assert.equal(res.status, 400, path);
      assert.equal(envelope(res.body).code, "invalid_url");
    }
  });

  test("a path segment over 1,024 characters: 414 uri_too_long; the longest real names are routed", async () => {
    const res = await send("GET", `/v1/jobs/${"1".repeat(2_000)}`);
    assert.equal(res.status, 414);
    assert.equal(envelope(res.body).code, "uri_too_long");
    // A switch for a schedule of the longest name (111 characters) reaches its route.
    const name = `scheduling:${"s".repeat(100)}`;
    const ok = await fetch(`${base}/v1/switches/${name}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({ enabled: true }),
    });
    assert.equal(ok.status, 200, await ok.text());
  });

  test("headers over Node's limit: 431 headers_too_large, answered by the parser's handler", async () => {
    const res = await send("GET", "/health/live", { "x-big": "b".repeat(20_000) });
    assert.equal(res.status, 431);
    const error = envelope(res.body);
    assert.equal(error.code, "headers_too_large");
    assert.match(error.message, /larger than 16384 bytes/);
  });

  test("malformed HTTP: 400 in the envelope", async () => {
    const text = await raw("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n");
    assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/);
    const body = text.slice(text.indexOf("\r\n\r\n") + 4);
    assert.equal(envelope(body).code, "invalid_argument");
  });

  test("a 10 GB content-length on /in/<source>: 413, and the rejection is kept with its declared size", async () => {
    const size = 10 * 1024 ** 3;
    const text = await raw(
      `POST /in/forms HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: ${size}\r\n\r\n`,
      /\r\n\r\n\{.*\}$/s,
    );
    assert.match(text, /^HTTP\/1\.1 413 /);
    const [kept] = await engine.intake.sources.rejections("forms");
    assert.equal(kept?.reason, "body_too_large");
    assert.equal(kept?.bodySize, size);
    assert.equal(typeof kept?.bodySize, "number");
  });
});

describe("fatal start errors carry a registry code", () => {
  const env = (extra: Record<string, string>) => ({
    DATABASE_URL: testDatabaseUrl(),
    KEEL_SCHEMA: freshSchema("edgestart"),
    PORT: "0",
    ...extra,
  });

  test("a database that does not exist: database_not_found, saying to create it or fix DATABASE_URL", async () => {
    const url = new URL(testDatabaseUrl());
    url.pathname = `/keel_missing_${randomBytes(4).toString("hex")}`;
    const { logger } = memoryLogger();
    await assert.rejects(startKeel({ env: env({ DATABASE_URL: url.toString() }), logger }), (err) => {
      assert.ok(isKeelError(err, "database_not_found"), String(err));
      assert.match(err.message, /keel_missing_\w+' does not exist.*createdb.*DATABASE_URL/);
      return true;
    });
  });

  test("KEEL_SCHEMA=pg_catalog: reserved_schema_name, saying which names to avoid", async () => {
    const { logger } = memoryLogger();
    await assert.rejects(startKeel({ env: env({ KEEL_SCHEMA: "pg_catalog" }), logger }), (err) => {
      assert.ok(isKeelError(err, "reserved_schema_name"), String(err));
      assert.match(err.message, /reserved by Postgres.*Set KEEL_SCHEMA/);
      return true;
    });
  });
});
