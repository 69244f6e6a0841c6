import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import type { Job } from "@keel/protocol/contracts";
import { CONTRACTS, createJob, getJob } from "@keel/protocol/contracts";
import Fastify, { type FastifyBaseLogger, type RouteOptions } from "fastify";
import type { z } from "zod";
import { guardLeaks, testEngine } from "../../engine/test/helpers.js";
import { API_ERROR_CODES } from "../src/api/errors.js";
import { registerApi } from "../src/api/index.js";
import { jsonSchemaOf, openApiPath, parametersOf } from "../src/api/openapi.js";
import type { Mount } from "../src/api/route.js";
import { memoryLogger } from "./helpers.js";

guardLeaks();
const SERVER_VERSION: string = JSON.parse(
  readFileSync(new URL("../package.json", import.meta.url), "utf8"),
).version;
const ADMIN = `admin-${randomBytes(24).toString("hex")}`;
const engine = await testEngine();
const { logger, lines } = memoryLogger();
const app = Fastify({ loggerInstance: logger as FastifyBaseLogger });
const routes: RouteOptions[] = [];
app.addHook("onRoute", (route) => {
  if (route.url.startsWith("/v1") && route.method !== "HEAD") routes.push(route);
});
app.get("/outside", async () => ({ ok: true }));
registerApi(app, { engine, adminToken: ADMIN, production: false, logger });
await app.ready();
after(() => app.close());

const auth = { authorization: `Bearer ${ADMIN}` };
type Doc = { paths: Record<string, Record<string, Record<string, unknown>>> } & Record<string, unknown>;
const doc = (await app.inject({ url: "/v1/openapi.json" })).json() as Doc;

describe("the OpenAPI document", () => {
  test("is OpenAPI 3.1, public, with unique operation ids", () => {
    assert.equal(doc.openapi, "3.1.0");
    assert.equal((doc.info as { version: string }).version, SERVER_VERSION);
    const ids = Object.values(doc.paths).flatMap((item) => Object.values(item).map((op) => op.operationId));
    assert.equal(new Set(ids).size, ids.length);
    assert.equal(ids.length, CONTRACTS.length);
  });

  test("lists every registered /v1 route and nothing else", () => {
    const documented = Object.entries(doc.paths)
      .flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    const registered = routes.map((r) => `${r.method} ${openApiPath("", r.url)}`).sort();
    assert.deepEqual(documented, registered);
  });

  test("each route validates with the schema the document shows", () => {
    for (const route of routes) {
      const op = doc.paths[openApiPath("", route.url)]?.[String(route.method).toLowerCase()];
      assert.ok(op, `${route.method} ${route.url} is documented`);
      const schema = (route.schema ?? {}) as Record<string, z.ZodType | undefined>;
      const body = (op.requestBody as { content: Record<string, { schema: unknown }> } | undefined)?.content[
        "application/json"
      ]?.schema;
      assert.deepEqual(body, schema.body ? jsonSchemaOf(schema.body) : undefined, `${route.url} body`);
      const expected = [
        ...parametersOf(schema.params, "path"),
        ...parametersOf(schema.querystring, "query"),
        ...parametersOf(schema.headers, "header"),
      ];
      assert.deepEqual(op.parameters ?? [], expected, `${route.url} parameters`);
      // The validator Fastify compiled is the zod schema itself (our compiler), not a copy.
      for (const part of Object.values(schema)) assert.equal(typeof part?.safeParse, "function");
      // Every {param} of the path is declared.
      const declared = expected.filter((p) => p.in === "path").map((p) => p.name);
      assert.deepEqual(
        declared,
        [...route.url.matchAll(/:(\w+)/g)].map((m) => m[1]),
      );
    }
  });

  test("names error codes from the registry with their statuses", () => {
    const op = doc.paths["/v1/jobs"]?.post as { responses: Record<string, { "x-error-codes"?: string[] }> };
    assert.deepEqual(op.responses["401"]?.["x-error-codes"], ["unauthorized"]);
    assert.ok(op.responses["503"]?.["x-error-codes"]?.includes("enqueue_disabled"));
    assert.ok(op.responses["409"]?.["x-error-codes"]?.includes("idempotency_in_flight"));
    assert.ok(op.responses["201"] && op.responses["200"]);
  });
});

describe("handler types", () => {
  test("come from the contract: statuses, bodies and parsed requests (checked by tsc)", () => {
    const mount: Mount = () => () => {};
    const job = {} as z.input<typeof Job>;
    mount(getJob)(async ({ params }) => ({ status: 200, body: { ...job, id: params.id } }));
    // @ts-expect-error 201 is not a status getJob answers with
    mount(getJob)(async () => ({ status: 201, body: job }));
    // @ts-expect-error the body must be a Job
    mount(getJob)(async () => ({ status: 200, body: { id: 1 } }));
    mount(createJob)(async ({ body }) => {
      // @ts-expect-error the API field is `delay`, not the engine's `delayMs`
      body.delayMs;
      return { status: 200, body: { id: "1", state: "available", deduplicated: true } };
    });
  });
});

describe("the reference page", () => {
  test("is self-contained HTML with every operation", async () => {
    const res = await app.inject({ url: "/v1/docs" });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers["content-type"]), /^text\/html/);
    assert.match(String(res.headers["content-security-policy"]), /default-src 'none'/);
    assert.doesNotMatch(res.body, /<script|<link|src=|@import/i);
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        assert.ok(res.body.includes(`id="${op.operationId}"`), `${method} ${path}`);
      }
    }
  });
});

describe("errors", () => {
  const post = (payload: string, type = "application/json") =>
    app.inject({ method: "POST", url: "/v1/jobs", headers: { ...auth, "content-type": type }, payload });

  test("unknown fields are refused with unknown_option and the accepted names", async () => {
    const res = await post(JSON.stringify({ target: { handler: "a" }, delayMs: 5 }));
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error.code, "unknown_option");
    assert.match(res.json().error.message, /'delayMs'.*accepted options: queue, target/);
  });

  test("malformed JSON, wrong types and media types answer in the envelope", async () => {
    const bad = await post('{"target": {');
    assert.deepEqual(Object.keys(bad.json()), ["error"]);
    assert.equal(bad.json().error.code, "invalid_argument");
    const type = await post(JSON.stringify({ target: { handler: 5 } }));
    assert.equal(type.json().error.code, "invalid_target");
    assert.match(type.json().error.message, /target\.handler/);
    const media = await post("target=x", "application/x-www-form-urlencoded");
    assert.equal(media.statusCode, 415);
    assert.equal(media.json().error.code, "unsupported_media_type");
    const proto = await post('{"target":{"handler":"a"},"__proto__":{"x":1}}');
    assert.equal(proto.statusCode, 400);
  });

  test("bodies over the limit answer 413 payload_too_large", async () => {
    const huge = JSON.stringify({ target: { handler: "a" }, payload: "x".repeat(1200 * 1024) });
    const res = await post(huge);
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().error.code, "payload_too_large");
    const retry = await app.inject({
      method: "POST",
      url: "/v1/jobs/1/retry",
      headers: { ...auth, "content-type": "application/json" },
      payload: JSON.stringify({ pad: "x".repeat(1024 * 1024) }),
    });
    assert.equal(retry.statusCode, 413);
  });

  test("an unknown /v1 path is not_found for a token holder, unauthorized for anyone else", async () => {
    const known = await app.inject({ url: "/v1/nothing-here?x=1", headers: auth });
    assert.equal(known.statusCode, 404);
    assert.equal(known.json().error.code, "not_found");
    assert.match(known.json().error.message, /GET \/v1\/nothing-here\./);
    const stranger = await app.inject({ url: "/v1/nothing-here" });
    assert.equal(stranger.statusCode, 401);
  });

  test("routes outside /v1 keep Fastify's own behaviour", async () => {
    const res = await app.inject({ url: "/outside" });
    assert.deepEqual(res.json(), { ok: true });
    assert.equal(res.headers["x-request-id"], undefined);
  });

  test("local error codes carry the statuses the document gives them", () => {
    for (const [code, spec] of Object.entries(API_ERROR_CODES)) {
      const statuses = Object.values(doc.paths).flatMap((item) =>
        Object.values(item).flatMap((op) =>
          Object.entries(op.responses as Record<string, { "x-error-codes"?: string[] }>)
            .filter(([, r]) => r["x-error-codes"]?.includes(code))
            .map(([status]) => Number(status)),
        ),
      );
      for (const status of statuses) assert.equal(status, spec.status, code);
    }
  });
});

describe("request ids", () => {
  test("are echoed as x-request-id and appear in the log lines of the request", async () => {
    const res = await app.inject({ url: "/v1/queues", headers: { ...auth, "x-request-id": "trace-42.a" } });
    assert.equal(res.headers["x-request-id"], "trace-42.a");
    assert.ok(lines.some((l) => l.reqId === "trace-42.a"));
    const fresh = await app.inject({ url: "/v1/queues", headers: { ...auth, "x-request-id": "bad id\n" } });
    assert.match(String(fresh.headers["x-request-id"]), /^[0-9a-f-]{36}$/);
  });
});

describe("in production", () => {
  test("a 500 says where to look and shows no stack or internals", async (t) => {
    const broken = await testEngine();
    await broken.close();
    const prod = Fastify({ logger: false });
    registerApi(prod, { engine: broken, adminToken: ADMIN, production: true });
    t.after(() => prod.close());
    const res = await prod.inject({ url: "/v1/queues", headers: auth });
    assert.equal(res.statusCode, 500);
    assert.equal(res.json().error.code, "internal_error");
    assert.match(res.json().error.message, new RegExp(`request id ${res.headers["x-request-id"]}`));
    assert.doesNotMatch(res.body, /pool|at .*\.(js|ts):\d+|stack/i);
  });
});
