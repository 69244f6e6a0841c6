import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { Engine, isKeelError } from "@keel/engine";
import { freshSchema, onCleanup, testDatabaseUrl } from "../../engine/test/helpers.js";
import { loadConfigFile } from "../src/config/file.js";
import { syncSources } from "../src/config/sources.js";
import { startKeel } from "../src/runtime/start.js";
import { guardServerLeaks, memoryLogger, tempDir } from "./helpers.js";

// sources: in the config file: checked when read, secrets' variables checked at start, synced.

guardServerLeaks();
const engine = await Engine.connect({
  migrate: true,
  connectionString: testDatabaseUrl(),
  schema: freshSchema("srccfg"),
});
onCleanup(() => engine.close());
const dir = tempDir("sources");

async function problems(yaml: string): Promise<string[]> {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  try {
    await loadConfigFile({ file });
  } catch (err) {
    assert.ok(isKeelError(err, "invalid_config"), String(err));
    return err.details.list as string[];
  }
  return assert.fail("expected invalid_config");
}

async function load(yaml: string) {
  const file = join(dir, `ok${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, yaml);
  return (await loadConfigFile({ file })).config;
}

const STRIPE = `
sources:
  stripe:
    provider: stripe
    secrets: ["\${STRIPE_WEBHOOK_SECRET}"]
    routes:
      - events: ["customer.subscription.*", "invoice.paid"]
        target: { url: https://crm.example.com/api/webhooks/stripe }
`;

describe("reading sources:", () => {
  test("the DESIGN example loads", async () => {
    const config = await load(STRIPE);
    assert.deepEqual(config.sources?.stripe?.routes?.[0]?.events, [
      "customer.subscription.*",
      "invoice.paid",
    ]);
  });

  test("an unknown provider, a literal secret, a bad filter and a bad target are each named", async () => {
    const list = await problems(`
sources:
  a:
    provider: paypal
    secrets: ["\${A}"]
  b:
    provider: github
    secrets: ["hunter2-literal"]
  c:
    provider: github
    secrets: ["\${C}"]
    routes:
      - events: ["push event"]
        target: { url: https://x.example.com }
  d:
    provider: github
    secrets: ["\${D}"]
    routes:
      - target: { url: "not a url" }
  e:
    provider: github
`);
    const text = list.join("\n");
    assert.match(text, /sources\.a\.provider: unknown provider: use one of stripe, standard, github/);
    assert.match(text, /sources\.b\.secrets\.0: put the secret in an environment variable/);
    assert.doesNotMatch(text, /hunter2-literal/, "the literal is not echoed");
    assert.match(text, /sources\.c\.routes\.0\.events\.0: an event type pattern/);
    assert.match(text, /sources\.d\.routes\.0\.target: .*absolute http\(s\) URL/);
    assert.match(text, /sources\.e\.secrets: required \(array\)/);
  });
});

describe("syncing sources", () => {
  test("a secret's variable must be set at start; the field is named, no value shown", async () => {
    const config = await load(STRIPE);
    await assert.rejects(syncSources(engine, config.sources, {}), (err: unknown) => {
      assert.ok(isKeelError(err, "invalid_config"));
      assert.match(err.message, /sources\.stripe\.secrets\[0\]: \$\{STRIPE_WEBHOOK_SECRET\} is not set/);
      return true;
    });
    assert.deepEqual(await engine.intake.sources.list(), [], "nothing synced");
  });

  test("created, then unchanged on every later sync; changed and removed as the file changes", async () => {
    const env = { STRIPE_WEBHOOK_SECRET: "whsec_x", GH_SECRET: "g" };
    const config = await load(`${STRIPE}
  gh:
    provider: github
    secrets: ["\${GH_SECRET}"]
`);
    assert.deepEqual(await syncSources(engine, config.sources, env), {
      created: ["stripe", "gh"],
      updated: [],
      removed: [],
      unchanged: [],
    });
    const before = await engine.intake.sources.list();
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await syncSources(engine, config.sources, env), {
        created: [],
        updated: [],
        removed: [],
        unchanged: ["stripe", "gh"],
      });
    }
    assert.deepEqual(await engine.intake.sources.list(), before, "rows untouched (updatedAt included)");

    // An API-made source is not the file's to remove.
    await engine.intake.sources.put("by-api", { provider: "github", secrets: ["x"] }, { managedBy: "api" });
    const next = await load(STRIPE.replace("invoice.paid", "invoice.*"));
    assert.deepEqual(await syncSources(engine, next.sources, env), {
      created: [],
      updated: ["stripe"],
      removed: ["gh"],
      unchanged: [],
    });
    assert.deepEqual(
      (await engine.intake.sources.list()).map((s) => [s.name, s.managedBy]),
      [
        ["by-api", "api"],
        ["stripe", "config"],
      ],
    );
  });

  test("startKeel refuses a config whose source secret is unset, before serving anything", async () => {
    const cwd = tempDir("start");
    writeFileSync(join(cwd, "keel.config.yaml"), STRIPE);
    const { logger } = memoryLogger();
    await assert.rejects(
      startKeel({
        env: { DATABASE_URL: testDatabaseUrl(), KEEL_SCHEMA: freshSchema("srcstart"), PORT: "0" },
        host: "127.0.0.1",
        cwd,
        logger,
      }),
      (err: unknown) =>
        isKeelError(err, "invalid_config") && /sources\.stripe\.secrets\[0\]/.test(err.message),
    );
  });
});
