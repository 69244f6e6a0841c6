import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConfigFile } from "../src/config/file.js";

test("config file: a queue's flow is checked as the engine checks it, every problem named", () => {
  const ok = parseConfigFile(
    {
      queues: {
        sync: { flow: { key: "payload.account", concurrency: 2, rate: { limit: 10, windowSeconds: 1 } } },
      },
    },
    "keel.config.yaml",
  );
  assert.deepEqual("config" in ok && ok.config.queues?.sync, {
    flow: { key: "payload.account", concurrency: 2, rate: { limit: 10, windowSeconds: 1 } },
  });
  const bad = parseConfigFile(
    { queues: { sync: { flow: { key: "account", rate: { limit: 0, windowSeconds: 1 } } } } },
    "keel.config.yaml",
  );
  assert.ok("problems" in bad);
  const text = bad.problems.join("\n");
  assert.match(text, /sync\.flow\.key: .*tenant, host, payload\.<field>/);
  assert.match(text, /sync\.flow\.rate\.limit/);
});
