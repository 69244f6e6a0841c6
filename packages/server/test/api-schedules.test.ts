import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { guardLeaks } from "../../engine/test/helpers.js";
import { contractCheckedApi } from "./api-harness.js";

guardLeaks();
const { engine, call, lastAudit } = await contractCheckedApi({ targetVariables: ["QT_CRON_SECRET"] });

const definition = {
  cron: "0 9 * * 1-5",
  timezone: "Europe/London",
  fanOut: { tenants: ["acme", "globex"] },
  target: {
    url: "https://crm.example.com/api/internal/cron/auto-chase-overdue-invoices",
    headers: { AUTH: "${QT_CRON_SECRET}", "X-Company-Id": "{{tenant}}" },
  },
};

describe("schedules API", () => {
  test("PUT creates (201), repeats unchanged (200), GET and list show it, audited", async () => {
    const created = await call("PUT", "/v1/schedules/chase", definition);
    assert.equal(created.statusCode, 201, created.body);
    const body = created.json();
    assert.equal(body.managedBy, "api");
    assert.equal(body.paused, false);
    assert.deepEqual(body.fanOut, { tenants: ["acme", "globex"] });
    assert.equal((await lastAudit())?.action, "schedule.create");
    const again = await call("PUT", "/v1/schedules/chase", definition);
    assert.equal(again.statusCode, 200);
    assert.equal(again.json().updatedAt, body.updatedAt, "an unchanged PUT writes nothing");
    assert.equal((await call("GET", "/v1/schedules/chase")).json().cron, "0 9 * * 1-5");
    assert.deepEqual(
      (await call("GET", "/v1/schedules")).json().schedules.map((s: { name: string }) => s.name),
      ["chase"],
    );
    const next = (await call("GET", "/v1/schedules/chase/next?count=3")).json().fireTimes;
    assert.equal(next.length, 3);
    assert.ok(
      next.every((t: string) => /T0[89]:00:00.000Z$/.test(t)),
      `09:00 London is 08:00 or 09:00 UTC: ${next}`,
    );
  });

  test("bad definitions answer 4xx naming the field, and nothing is saved", async () => {
    const cases: [object, number, string, RegExp][] = [
      [{ ...definition, cron: "0 25 * * *" }, 400, "invalid_cron", /cron: '0 25/],
      [{ ...definition, timezone: "Europe/Nowhere" }, 400, "invalid_timezone", /timezone: 'Europe\/Nowhere'/],
      [{ ...definition, target: { url: "not a url" } }, 400, "invalid_target", /target/],
      [{ ...definition, fanOut: undefined }, 400, "invalid_schedule", /\{\{tenant\}\}/],
      [{ ...definition, missed: "often" }, 400, "invalid_argument", /missed/],
    ];
    for (const [body, status, code, message] of cases) {
      const res = await call("PUT", "/v1/schedules/broken", body);
      assert.equal(res.statusCode, status, `${JSON.stringify(body)}: ${res.body}`);
      assert.equal(res.json().error.code, code, res.body);
      assert.match(res.json().error.message, message);
    }
    assert.equal((await call("GET", "/v1/schedules/broken")).statusCode, 404);
  });

  test("pause, resume, trigger and the run history", async () => {
    await call("PUT", "/v1/schedules/ops", { cron: "0 * * * *", target: { handler: "tidy" } });
    const paused = await call("POST", "/v1/schedules/ops/pause", { reason: "deploy" });
    assert.equal(paused.json().paused, true);
    assert.equal((await call("GET", "/v1/switches")).json().switches[0].name, "scheduling:ops");
    const triggered = await call("POST", "/v1/schedules/ops/trigger");
    assert.equal(triggered.statusCode, 201, triggered.body);
    const [job] = triggered.json().jobs;
    const stored = (await call("GET", `/v1/jobs/${job.jobId}`)).json();
    assert.deepEqual(stored.origin, {
      schedule: "ops",
      fireTime: triggered.json().fireTime,
      trigger: "manual",
    });
    const resumed = await call("POST", "/v1/schedules/ops/resume", { backfill: "latest" });
    assert.equal(resumed.statusCode, 200);
    assert.equal(resumed.json().schedule.paused, false);
    const runs = (await call("GET", "/v1/schedules/ops/runs")).json();
    assert.deepEqual(
      runs.runs.map((r: { kind: string; outcome: string; jobState: string }) => [
        r.kind,
        r.outcome,
        r.jobState,
      ]),
      [["manual", "enqueued", "available"]],
    );
    assert.equal(runs.nextCursor, null);
    assert.equal((await call("GET", "/v1/schedules/ops/runs?before=yesterday")).statusCode, 400);
    assert.equal(
      (await call("POST", "/v1/schedules/missing/trigger")).json().error.code,
      "schedule_not_found",
    );
  });

  test("config schedules are refused through the API; API schedules can be deleted", async () => {
    await engine.schedules.sync({ "from-file": { cron: "0 6 * * *", target: { handler: "x" } } });
    const res = await call("PUT", "/v1/schedules/from-file", { cron: "0 7 * * *", target: { handler: "x" } });
    assert.equal(res.statusCode, 409);
    assert.equal(res.json().error.code, "schedule_managed_by_config");
    assert.equal((await call("DELETE", "/v1/schedules/from-file")).statusCode, 409);
    await call("PUT", "/v1/schedules/temp", { cron: "0 7 * * *", target: { handler: "x" } });
    assert.equal((await call("DELETE", "/v1/schedules/temp")).statusCode, 200);
    assert.equal((await call("GET", "/v1/schedules/temp")).statusCode, 404);
  });

  test("the tenant registry", async () => {
    assert.equal((await call("PUT", "/v1/tenants/acme")).statusCode, 201);
    assert.equal((await call("PUT", "/v1/tenants/acme")).statusCode, 200);
    assert.equal((await call("PUT", "/v1/tenants/bad%20id")).statusCode, 400);
    assert.deepEqual(
      (await call("GET", "/v1/tenants")).json().tenants.map((t: { id: string }) => t.id),
      ["acme"],
    );
    assert.equal((await call("DELETE", "/v1/tenants/acme")).statusCode, 200);
    assert.equal((await call("DELETE", "/v1/tenants/acme")).json().error.code, "tenant_not_found");
  });
});
