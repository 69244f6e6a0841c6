import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, test } from "node:test";
import { ERROR_CODES } from "@keel/engine";
import fc from "fast-check";
import Fastify from "fastify";
import { guardLeaks, testEngine } from "../../engine/test/helpers.js";
import { API_ERROR_CODES } from "../src/api/errors.js";
import { registerApi } from "../src/api/index.js";
import { errorCodesOf } from "../src/api/openapi.js";
import type { Contract } from "../src/api/route.js";

// Property: whatever body arrives at the create routes, the answer is never a 5xx, and every
// refusal is a 4xx in the envelope with a code the route documents.

guardLeaks();
const ADMIN = `admin-${randomBytes(24).toString("hex")}`;
const engine = await testEngine();
const app = Fastify();
const undocumented: string[] = [];
app.addHook("onSend", async (request, reply, payload) => {
  const contract = (request.routeOptions.config as { contract?: Contract }).contract;
  if (contract && reply.statusCode >= 400 && typeof payload === "string") {
    const code = JSON.parse(payload).error?.code;
    if (!errorCodesOf(contract).includes(code)) undocumented.push(`${contract.operationId} ${code}`);
  }
  return payload;
});
registerApi(app, { engine, adminToken: ADMIN, production: true });
await app.ready();
after(() => app.close());

const KNOWN = new Set([...Object.keys(ERROR_CODES), ...Object.keys(API_ERROR_CODES)]);
const RUNS = 5_000; // per route: 10,000 bodies in all
const codes = new Map<string, number>();
let accepted = 0;

const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom("", "\u0000", "\ud800", "a\udc00b", "x".repeat(300), "${SECRET}", "../../etc"),
);
const hugeNumber = fc.oneof(
  fc.double(),
  fc.constantFrom(1e308, -1e308, 2 ** 63, -(2 ** 63), 2 ** 53 + 1, 0.5, -1, 1e-320),
  fc.integer(),
);
const junk = fc.anything({ maxDepth: 4, withNullPrototype: false });

const target = fc.oneof(
  fc.record({ handler: fc.oneof(fc.constantFrom("send", "a/b.c:d-e"), hostileString) }),
  fc.record(
    {
      url: fc.oneof(
        fc.webUrl(),
        fc.constantFrom("ftp://x", "https://", "http://[::1", "javascript:alert(1)"),
        hostileString,
      ),
      method: fc.oneof(fc.constantFrom("GET", "POST", "DELETE", "TRACE"), hostileString),
      headers: fc.dictionary(
        fc.oneof(fc.constantFrom("Authorization", "X-Id"), hostileString),
        hostileString,
        {
          maxKeys: 3,
        },
      ),
    },
    { requiredKeys: ["url"] },
  ),
  junk,
);

const backoff = fc.oneof(
  fc.record(
    { type: fc.constant("exponential"), baseMs: hugeNumber, maxMs: hugeNumber, jitter: fc.boolean() },
    { requiredKeys: ["type"] },
  ),
  fc.record({ type: fc.constant("fixed"), delayMs: hugeNumber }),
  fc.record({ type: fc.constant("list"), delaysMs: fc.array(hugeNumber, { maxLength: 4 }) }),
  junk,
);

const job = fc.record(
  {
    queue: fc.oneof(fc.constantFrom("default", "email", "q.1:x-y"), hostileString),
    target,
    payload: fc.oneof(fc.jsonValue({ maxDepth: 4 }), junk, hostileString),
    delay: hugeNumber,
    runAt: fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.constantFrom(
        "0000-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999+14:00",
        "2024-02-30T00:00:00Z",
        "soon",
      ),
      hostileString,
    ),
    priority: hugeNumber,
    maxAttempts: hugeNumber,
    backoff,
    dedupeKey: hostileString,
    tenant: hostileString,
    extra: junk,
    delayMs: hugeNumber,
    constructor: junk,
  },
  { requiredKeys: [] },
);

/** Jobs the API must accept. */
const validJob = fc.record(
  {
    queue: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,20}$/),
    target: fc.oneof(
      fc.record({ handler: fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,30}$/) }),
      fc.record({ url: fc.webUrl(), method: fc.constantFrom("GET", "POST") }, { requiredKeys: ["url"] }),
    ),
    payload: fc.jsonValue({ maxDepth: 5 }),
    delay: fc.integer({ min: 0, max: 10_000_000 }),
    priority: fc.integer({ min: -32768, max: 32767 }),
    maxAttempts: fc.integer({ min: 1, max: 1000 }),
    backoff: fc.record({ type: fc.constant("fixed"), delayMs: fc.nat(100_000) }),
    dedupeKey: fc.string({ minLength: 1, maxLength: 20 }),
    tenant: fc.string({ minLength: 1, maxLength: 20 }),
  },
  { requiredKeys: ["target"] },
);

/** A valid job with one key too many: a typo, the SDK's name for a field, a prototype name. */
const typoJob = fc
  .tuple(validJob, fc.constantFrom("extra", "delayMs", "constructor", "Target", "run_at"), junk)
  .map(([j, key, value]) => ({ ...j, [key]: value }));

/** A body sent as raw text: broken JSON, deep nesting, JSON of the wrong shape. */
const rawBody = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.integer({ min: 1, max: 100_000 }).map((n) => "[".repeat(n) + "]".repeat(n)),
  fc
    .integer({ min: 1, max: 100_000 })
    .map((n) => `{"target":{"handler":"a"},"payload":${"[".repeat(n)}${"]".repeat(n)}}`),
  fc.constantFrom(
    "null",
    "[]",
    "1e999",
    '"x"',
    '{"__proto__":{"a":1}}',
    '{"target":{"handler":"a"}',
    "\u0000",
  ),
);

const request = (route: "single" | "batch") =>
  fc.record({
    body: fc.oneof(
      {
        weight: 3,
        arbitrary:
          route === "single"
            ? validJob
            : fc.record({ jobs: fc.array(validJob, { minLength: 1, maxLength: 4 }) }),
      },
      {
        weight: 3,
        arbitrary:
          route === "single"
            ? fc.oneof(job, typoJob)
            : fc.record({ jobs: fc.array(fc.oneof(validJob, job, typoJob), { maxLength: 4 }) }),
      },
      { weight: 1, arbitrary: junk },
      { weight: 1, arbitrary: rawBody.map((raw) => ({ raw })) },
    ),
    key: fc.oneof(
      { weight: 9, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.constantFrom("k1", "k2", "") },
    ),
  });

async function check(url: string, input: { body: unknown; key: string | null }): Promise<void> {
  const raw = input.body !== null && typeof input.body === "object" && "raw" in input.body;
  const res = await app.inject({
    method: "POST",
    url,
    headers: {
      authorization: `Bearer ${ADMIN}`,
      "content-type": "application/json",
      ...(input.key === null ? {} : { "idempotency-key": input.key }),
    },
    payload: raw ? String((input.body as { raw: string }).raw) : (JSON.stringify(input.body) ?? ""),
  });
  assert.ok(res.statusCode < 500, `${res.statusCode} ${res.body}`);
  if (res.statusCode >= 400) {
    const { error } = res.json();
    codes.set(error?.code, (codes.get(error?.code) ?? 0) + 1);
    assert.ok(KNOWN.has(error?.code), `unknown code in ${res.body}`);
    assert.equal(typeof error.message, "string");
  } else {
    accepted++;
    const out = res.json();
    assert.equal(
      typeof (url.endsWith("batch") ? out.jobs : out.id),
      url.endsWith("batch") ? "object" : "string",
    );
  }
}

test(`POST /v1/jobs: ${RUNS} generated bodies, no 5xx, every refusal a 4xx with a code`, async () => {
  await fc.assert(
    fc.asyncProperty(request("single"), (input) => check("/v1/jobs", input)),
    { numRuns: RUNS },
  );
});

test(`POST /v1/jobs/batch: ${RUNS} generated bodies, no 5xx, every refusal a 4xx with a code`, async () => {
  await fc.assert(
    fc.asyncProperty(request("batch"), (input) => check("/v1/jobs/batch", input)),
    {
      numRuns: RUNS,
    },
  );
});

test("every refusal used a code its route documents; both outcomes were exercised", (t) => {
  assert.deepEqual([...new Set(undocumented)], []);
  t.diagnostic(`accepted ${accepted}; refused ${JSON.stringify(Object.fromEntries(codes))}`);
  assert.ok(accepted > RUNS / 5, "too few generated bodies were valid");
  for (const code of ["invalid_argument", "unknown_option", "invalid_target", "payload_not_serializable"]) {
    assert.ok(codes.has(code), `no body was refused with ${code}`);
  }
});
