import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { ERROR_CODES, KeelError } from "../src/index.js";

const doc = readFileSync(new URL("../../../docs/reference/errors.md", import.meta.url), "utf8");

test("every error code is documented with its HTTP status", () => {
  const rows = new Map(
    doc
      .split("\n")
      .filter((line) => line.startsWith("|"))
      .map((line) => line.split("|").map((cell) => cell.trim()))
      .map((cells) => [cells[1], cells[2]] as const),
  );
  for (const [code, spec] of Object.entries(ERROR_CODES)) {
    const status = rows.get(`\`${code}\``);
    assert.ok(status, `docs/reference/errors.md has no row for ${code}`);
    assert.equal(status, String(spec.status), `${code}: documented status differs from ${spec.status}`);
  }
});

test("messages fill their parameters and serialise to the error envelope shape", () => {
  const err = new KeelError("payload_too_large", { size: 2000, limit: 1000 });
  assert.equal(err.status, 413);
  assert.deepEqual(JSON.parse(JSON.stringify(err)), {
    code: "payload_too_large",
    message:
      "The payload is 2000 bytes; the limit is 1000 bytes. Store large data elsewhere and pass a reference.",
  });
});
