import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { backoffDelay } from "../src/index.js";

test("exponential backoff doubles from the base up to the cap, without jitter", () => {
  const b = { type: "exponential", baseMs: 1_000, maxMs: 60_000, jitter: false } as const;
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(b, n)),
    [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000],
  );
});

test("the default is 5 s doubling to 1 h with equal jitter: between half and all of the step", () => {
  assert.equal(
    backoffDelay(null, 1, () => 0),
    2_500,
  );
  assert.equal(
    backoffDelay(null, 1, () => 1),
    5_000,
  );
  assert.equal(
    backoffDelay(null, 3, () => 0.5),
    15_000,
  );
  assert.equal(
    backoffDelay(null, 30, () => 1),
    3_600_000,
  );
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 100 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (attempt, r) => {
        const full = Math.min(3_600_000, 5_000 * 2 ** (attempt - 1));
        const d = backoffDelay(null, attempt, () => r);
        return d >= full / 2 - 1 && d <= full;
      },
    ),
  );
});

test("fixed and list backoffs; the last list entry repeats", () => {
  assert.equal(backoffDelay({ type: "fixed", delayMs: 750 }, 9), 750);
  const list = { type: "list", delaysMs: [1_000, 30_000, 300_000] } as const;
  assert.deepEqual(
    [1, 2, 3, 4, 10].map((n) => backoffDelay(list, n)),
    [1_000, 30_000, 300_000, 300_000, 300_000],
  );
});
