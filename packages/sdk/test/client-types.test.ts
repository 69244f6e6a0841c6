/**
 * The client's API types are the protocol's contracts (`client/types*.ts` derive them), so no
 * test compares two copies. What is checked here: the derivation takes the side a client sees
 * (`z.input` of bodies, `z.output` of queries and responses), and it stays type-only, so the
 * built client loads neither zod nor the contracts at run time.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { expectTypeOf } from "expect-type";
import type * as Sdk from "../src/index.js";

test("bodies are what a client sends, queries and responses what the server reads and answers (tsc)", () => {
  expectTypeOf<Sdk.HandlerTarget>().toEqualTypeOf<{ handler: string }>();
  expectTypeOf<Sdk.JobInput["delay"]>().toEqualTypeOf<number | undefined>();
  expectTypeOf<Sdk.JobInput["payload"]>().toEqualTypeOf<unknown>();
  expectTypeOf<Sdk.JobInput>().toHaveProperty("target").toEqualTypeOf<Sdk.Target>();
  // `limit` is coerced from the query string: a number once read.
  expectTypeOf<Sdk.ListJobsQuery["limit"]>().toEqualTypeOf<number | undefined>();
  expectTypeOf<Sdk.JobCreated>().toEqualTypeOf<{ id: string; state: Sdk.JobState; deduplicated: boolean }>();
  expectTypeOf<Sdk.JobState>().toEqualTypeOf<
    "scheduled" | "available" | "running" | "succeeded" | "dead" | "cancelled"
  >();
  expectTypeOf<Sdk.FanOut>().toEqualTypeOf<{ tenants: string[] } | { registry: true }>();
  expectTypeOf<Sdk.Tenant>().toEqualTypeOf<{ id: string; createdAt: string }>();
  expectTypeOf<Sdk.EventFilter["status"]>().toEqualTypeOf<Sdk.EventStatus | undefined>();
});

/** Every module the built file at `url` loads, following relative imports; bare ones are returned. */
function packagesLoaded(url: URL, seen = new Set<string>(), bare = new Set<string>()): Set<string> {
  if (seen.has(url.href)) return bare;
  seen.add(url.href);
  const source = readFileSync(url, "utf8");
  for (const m of source.matchAll(
    /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*"([^"]+)"|import\("([^"]+)"\)/g,
  )) {
    const specifier = (m[1] ?? m[2]) as string;
    if (specifier.startsWith(".")) packagesLoaded(new URL(specifier, url), seen, bare);
    else bare.add(specifier);
  }
  return bare;
}

test("the built client loads neither zod nor the contracts", () => {
  const files = new Set<string>();
  const loaded = packagesLoaded(new URL("../dist/client/index.js", import.meta.url), files);
  assert.ok(files.size >= 10, `the walk followed the client's modules (${files.size})`);
  const heavy = [...loaded].filter((s) => s === "zod" || s.startsWith("zod/") || s.includes("/contracts"));
  assert.deepEqual(heavy, [], "a value import of the contracts or zod reached the client");
  assert.equal(
    readFileSync(new URL("../dist/client/types.js", import.meta.url), "utf8").includes("contracts"),
    false,
  );
});
