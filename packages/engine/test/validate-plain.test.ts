import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { enqueueSchema, handlerOnly, plainJob } from "../src/queue/validate.js";

// The plain-job fast path must accept exactly what the schema accepts, with the same output,
// for inputs it takes; everything else must fall through to the schema (undefined).

const queueName = fc.oneof(
  fc.constantFrom("default", "emails", "a.b:c-d_e", "", "-bad", "has space", "x".repeat(101), "ünï"),
  fc.string({ maxLength: 8 }),
);
const anyValue = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.integer(),
  fc.string(),
  queueName,
  fc.object(),
);
const handlerName = fc.oneof(
  fc.constantFrom("send", "a/b.c:d-e", "", "bad name", "@http"),
  fc.string({ maxLength: 8 }),
);
const target = fc.oneof(
  fc.record({ handler: handlerName }),
  fc.record({ handler: handlerName, extra: fc.integer() }),
  fc.record({ url: fc.constant("https://example.com/hook") }),
  fc.record({}),
  anyValue,
);
const plain = fc.record(
  { queue: fc.oneof(queueName, anyValue), target, payload: anyValue },
  { requiredKeys: [] },
);
const withOptions = fc.record(
  { queue: queueName, target, payload: anyValue, priority: fc.integer(), tenant: fc.string() },
  { requiredKeys: ["priority"] },
);
const job = fc.oneof(plain, withOptions);

test("a plain job is taken by the fast path exactly as the schema parses it", () => {
  let taken = 0;
  fc.assert(
    fc.property(job, (input) => {
      const fast = plainJob(input);
      const parsed = enqueueSchema.safeParse(input);
      if (fast === undefined) {
        // Not taken: either another option is present or the queue name needs the schema's error.
        const other = Object.keys(input).some((k) => !["queue", "target", "payload"].includes(k));
        assert.ok(other || !parsed.success, `fast path refused ${JSON.stringify(input)}`);
        return;
      }
      taken++;
      assert.ok(parsed.success, `fast path took ${JSON.stringify(input)}, the schema refuses it`);
      assert.deepEqual(
        { queue: fast.queue, target: fast.target, payload: fast.payload },
        { queue: parsed.data.queue, target: parsed.data.target, payload: parsed.data.payload },
      );
      assert.notEqual(fast, input, "a new object, like the schema's");
    }),
    { numRuns: 2_000 },
  );
  assert.ok(taken > 100, `the fast path was exercised (${taken} runs)`);
});

test("a {handler} target is taken by the fast path only when it is valid and alone", () => {
  assert.deepEqual(handlerOnly({ handler: "send" }), { handler: "send" });
  for (const refused of [
    { handler: "bad name" },
    { handler: "send", url: "https://x" },
    { handler: 1 },
    {},
    null,
    "send",
  ])
    assert.equal(handlerOnly(refused), undefined, JSON.stringify(refused));
  // An inherited enumerable key counts, as in the schema's strict check.
  assert.equal(handlerOnly(Object.assign(Object.create({ extra: 1 }), { handler: "send" })), undefined);
  assert.equal(
    plainJob(Object.assign(Object.create({ extra: 1 }), { target: { handler: "send" } })),
    undefined,
  );
});
