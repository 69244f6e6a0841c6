/** What `Slots` holds: each member knows its place in the array. */
export interface Slotted {
  /** Index in the holding `Slots`; -1 when not held. */
  slot: number;
}

/**
 * A set of objects in an array, each knowing its index: adding one is a push and removing one
 * moves the last into its place. A worker adds and removes every job it runs; a `Map` by job id
 * hashed each id and, as it emptied and filled with each batch, shrank and grew its table
 * (decision 073).
 */
export class Slots<T extends Slotted> {
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  add(item: T): void {
    item.slot = this.items.length;
    this.items.push(item);
  }

  /** Removes `item` if held; the order of the others may change. */
  delete(item: T): void {
    const at = item.slot;
    if (at < 0 || this.items[at] !== item) return;
    const last = this.items.pop() as T;
    if (last !== item) {
      this.items[at] = last;
      last.slot = at;
    }
    item.slot = -1;
  }

  has(item: T): boolean {
    return item.slot >= 0 && this.items[item.slot] === item;
  }

  /** A copy of the members, safe to iterate while they change. */
  list(): T[] {
    return this.items.slice();
  }
}
