import assert from "node:assert/strict";
import { test } from "node:test";
import { Slots, type Slotted } from "../src/worker/slots.js";

type Item = Slotted & { n: number };

test("slots hold each member once, remove any of them, and survive removing twice", () => {
  const slots = new Slots<Item>();
  const items: Item[] = Array.from({ length: 5 }, (_, n) => ({ n, slot: -1 }));
  const [i0, i1, i2, i3, i4] = items as [Item, Item, Item, Item, Item];
  for (const item of items) slots.add(item);
  assert.equal(slots.size, 5);
  slots.delete(i1);
  slots.delete(i4);
  slots.delete(i1);
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
  for (const item of [i3, i0, i2]) slots.delete(item);
  assert.equal(slots.size, 0);
  assert.deepEqual(slots.list(), []);
});
