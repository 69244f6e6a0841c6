import assert from "node:assert/strict";
import { test } from "node:test";
import { Slots, type Slotted } from "../src/worker/slots.js";

test("slots hold each member once, remove any of them, and survive removing twice", () => {
  const slots = new Slots<Slotted & { n: number }>();
  const items = Array.from({ length: 5 }, (_, n) => ({ n, slot: -1 }));
  for (const item of items) slots.add(item);
  assert.equal(slots.size, 5);
  slots.delete(items[1] as Slotted & { n: number });
  slots.delete(items[4] as Slotted & { n: number });
  slots.delete(items[1] as Slotted & { n: number });
  assert.equal(slots.size, 3);
  assert.deepEqual(
    slots
      .list()
      .map((i) => i.n)
      .sort(),
    [0, 2, 3],
  );
  for (const item of items) assert.equal(slots.has(item), [0, 2, 3].includes(item.n));
  // Every member still knows its place: removing them all in any order empties the set.
  for (const n of [3, 0, 2]) slots.delete(items[n] as Slotted & { n: number });
  assert.equal(slots.size, 0);
  assert.deepEqual(slots.list(), []);
});
