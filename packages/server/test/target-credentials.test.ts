import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { isKeelError } from "@keel/engine";
import { testDatabaseUrl } from "../../engine/test/helpers.js";
import { loadConfigFile } from "../src/config/file.js";
import { contractCheckedApi } from "./api-harness.js";
import { runKeel, tempDir } from "./helpers.js";

// Credentials in a target URL (`http://user:pw@host/`) are refused wherever a target is
// written, and redacted wherever a stored one (from before the check) is shown.

const { engine, call } = await contractCheckedApi();
const CREDENTIAL_URL = "http://alice:hunter2-pw@hooks.example.com/cron";
const USER_ONLY_URL = "https://tok3n-user@hooks.example.com/cron";

async function jobCount(): Promise<number> {
  const { rows } = await engine.pool.query(`select count(*)::int as n from "${engine.schema}".jobs`);
  return rows[0].n;
}

describe("a target URL with credentials is refused", () => {
  test("by POST /v1/jobs and /v1/jobs/batch, saying to use a ${VAR} header; nothing is stored", async () => {
    const before = await jobCount();
    for (const url of [CREDENTIAL_URL, USER_ONLY_URL]) {
      const one = await call("POST", "/v1/jobs", { target: { url } });
      assert.equal(one.statusCode, 400, one.body);
      const error = one.json().error;
      assert.equal(error.code, "invalid_target");
      assert.match(error.message, /credentials/);
      assert.match(error.message, /header/);
      assert.match(error.message, /\$\{/);
      assert.ok(!one.body.includes("hunter2") && !one.body.includes("tok3n"), "the credential is not echoed");
      const batch = await call("POST", "/v1/jobs/batch", {
        jobs: [{ target: { url: "https://hooks.example.com/ok" } }, { target: { url } }],
      });
      assert.equal(batch.statusCode, 400);
      assert.equal(batch.json().error.code, "invalid_target");
    }
    assert.equal(await jobCount(), before);
  });

  test("by the engine itself (the CLI and in-process callers), by schedules and by source routes", async () => {
    await assert.rejects(engine.enqueue({ target: { url: CREDENTIAL_URL } }), { code: "invalid_target" });
    const schedule = await call("PUT", "/v1/schedules/creds", {
      cron: "0 6 * * *",
      target: { url: CREDENTIAL_URL },
    });
    assert.equal(schedule.statusCode, 400, schedule.body);
    assert.match(schedule.json().error.message, /credentials/);
    const source = await call("PUT", "/v1/sources/creds", {
      provider: "bearer",
      secrets: ["a-long-enough-bearer-secret-value-0123456789"],
      routes: [{ target: { url: CREDENTIAL_URL } }],
    });
    assert.equal(source.statusCode, 400, source.body);
    assert.match(source.json().error.message, /credentials/);
  });

  test("in the config file, for schedules and source routes, all reported at once", async () => {
    const dir = tempDir("keel-creds-config");
    const file = join(dir, "keel.config.json");
    writeFileSync(
      file,
      JSON.stringify({
        schedules: { nightly: { cron: "0 3 * * *", target: { url: CREDENTIAL_URL } } },
        sources: {
          stripe: {
            provider: "stripe",
            secrets: ["${STRIPE_WEBHOOK_SECRET}"],
            routes: [{ target: { url: USER_ONLY_URL } }],
          },
        },
      }),
    );
    const err = await loadConfigFile({ file }).then(
      () => assert.fail("the config file was accepted"),
      (e: unknown) => e,
    );
    assert.ok(isKeelError(err) && err.code === "invalid_config");
    const list = err.details.list as string[];
    assert.ok(
      list.some((p) => p.includes("schedules.nightly") && /credentials/.test(p)),
      list.join("\n"),
    );
    assert.ok(
      list.some((p) => p.includes("sources.stripe") && /credentials/.test(p)),
      list.join("\n"),
    );
    assert.ok(!err.message.includes("hunter2") && !err.message.includes("tok3n"));
  });
});

describe("a stored target URL with credentials (written before the check) is redacted", () => {
  test("in GET /v1/jobs/:id, GET /v1/jobs and `keel jobs get` (text and --json)", async () => {
    const { id } = await engine.enqueue({ queue: "legacy", target: { url: "https://hooks.example.com/x" } });
    await engine.pool.query(
      `update "${engine.schema}".jobs set target = jsonb_set(target, '{url}', to_jsonb($2::text)) where id = $1`,
      [id, CREDENTIAL_URL],
    );
    const one = await call("GET", `/v1/jobs/${id}`);
    assert.equal(one.statusCode, 200);
    assert.ok(!one.body.includes("hunter2"), one.body);
    assert.match(one.json().target.url, /^http:\/\/\[redacted\]@hooks\.example\.com\/cron$/);
    const list = await call("GET", "/v1/jobs?queue=legacy");
    assert.ok(!list.body.includes("hunter2"), list.body);
    const env = { DATABASE_URL: testDatabaseUrl(), KEEL_SCHEMA: engine.schema };
    const [text, json] = await Promise.all([
      runKeel(["jobs", "get", id], env),
      runKeel(["jobs", "get", id, "--json"], env),
    ]);
    assert.equal(text.code, 0, text.stderr);
    assert.equal(json.code, 0, json.stderr);
    assert.match(text.stdout, /\[redacted\]@hooks\.example\.com/);
    for (const run of [text, json]) assert.ok(!`${run.stdout}${run.stderr}`.includes("hunter2"), run.stdout);
  });
});
