import assert from "node:assert/strict";
import { test } from "node:test";
import { guardLeaks, testEngine } from "../../engine/test/helpers.js";
import { parseConfigFile } from "../src/config/file.js";
import { configSync, syncAudit } from "../src/runtime/config-sync.js";

// `audit: { retentionDays }` in the config file: validated with the file, applied at start.

guardLeaks();

const problems = (raw: unknown): string[] => {
  const parsed = parseConfigFile(raw, "keel.config.yaml");
  return "problems" in parsed ? parsed.problems : [];
};

test("audit.retentionDays is a whole number of days from 1 to 36500; other keys are refused", () => {
  assert.deepEqual(problems({ audit: { retentionDays: 90 } }), []);
  assert.deepEqual(problems({}), []);
  assert.match(
    problems({ audit: { retentionDays: 0 } })[0] ?? "",
    /audit\.retentionDays: must be at least 1 day/,
  );
  assert.match(
    problems({ audit: { retentionDays: 1.5 } })[0] ?? "",
    /audit\.retentionDays: must be a whole number/,
  );
  assert.match(
    problems({ audit: { retentionDays: "90" } })[0] ?? "",
    /audit\.retentionDays: must be a whole number/,
  );
  assert.match(problems({ audit: { retentionDays: 40_000 } })[0] ?? "", /at most 36500/);
  const misspelt = problems({ audit: { days: 90 } });
  assert.ok(
    misspelt.some((p) => /audit: unknown key days/.test(p)),
    misspelt.join("; "),
  );
  assert.ok(
    misspelt.some((p) => /audit\.retentionDays: is required/.test(p)),
    misspelt.join("; "),
  );
});

test("start applies the file's retention once, audited as the file; without audit: entries are kept forever", async () => {
  const engine = await testEngine();
  const as = configSync("/srv/app/keel.config.yaml");
  const withRetention = parseConfigFile({ audit: { retentionDays: 90 } }, undefined);
  assert.ok("config" in withRetention);
  assert.deepEqual(await syncAudit(engine, withRetention.config, as), { retentionDays: 90, changed: true });
  assert.deepEqual(await syncAudit(engine, withRetention.config, as), { retentionDays: 90, changed: false });
  assert.equal(await engine.auditLog.retentionDays(), 90);
  assert.deepEqual(await syncAudit(engine, {}, as), { retentionDays: null, changed: true });
  assert.equal(await engine.auditLog.retentionDays(), null);
  const rows = (await engine.auditLog.list()).filter((e) => e.action === "audit.configure");
  assert.deepEqual(
    rows.map((e) => [e.actor, e.details]),
    [
      ["config:keel.config.yaml", { retentionDays: null, previous: 90 }],
      ["config:keel.config.yaml", { retentionDays: 90, previous: null }],
    ],
  );
});
