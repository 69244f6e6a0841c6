/**
 * Orders two non-negative integers written in decimal (bigint ids and microsecond times as
 * node-pg returns them): by length, then by text. No BigInt per comparison on hot paths.
 */
export function compareDecimal(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
