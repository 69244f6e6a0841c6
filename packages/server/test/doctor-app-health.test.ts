import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, test } from "node:test";
import { readDoctorInputs } from "../src/doctor/inputs.js";
import { runDoctor } from "../src/doctor/run.js";
import type { DoctorCheck } from "../src/doctor/types.js";
import { closedPort, tempDir } from "./helpers.js";

// `probe.app_health`: the application's own health URL (doctor.appHealth), probed by the doctor
// against real loopback HTTP servers. No database: the probes run without it.

/** A loopback server answering every request with `handle`; records the requests it saw. */
async function app(handle: (req: IncomingMessage, res: ServerResponse) => void) {
  const seen: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(req);
    req.resume();
    handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  after(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

/** The doctor's `probe.app_health` for a config file holding `doctor`, with `env` (development unless said). */
async function appHealth(
  doctor: unknown,
  env: Record<string, string> = {},
  probeTimeoutMs?: number,
): Promise<DoctorCheck> {
  const path = join(tempDir("app-health"), "keel.config.json");
  writeFileSync(path, JSON.stringify(doctor === undefined ? {} : { doctor }));
  const inputs = await readDoctorInputs({ KEEL_CONFIG: path, ...env });
  assert.deepEqual(inputs.file.problems, []);
  const report = await runDoctor({ ...inputs, engine: undefined, self: 0 }, { probeTimeoutMs });
  const check = report.checks.find((c) => c.id === "probe.app_health");
  assert.ok(check, "probe.app_health is in the report");
  assert.equal(check.fix === null, check.status === "pass", "a problem says how to fix it");
  return check;
}

test("a healthy application passes: one GET without credentials, the URL's ${VAR} read from the environment", async () => {
  const healthy = await app((_req, res) => res.writeHead(200).end('{"status":"ok"}'));
  const check = await appHealth({ appHealth: "${APP_URL}/health" }, { APP_URL: healthy.origin });
  assert.equal(check.status, "pass");
  assert.equal(check.seen, `the application's health: GET ${healthy.origin}/health answered 200`);
  assert.equal(healthy.seen.length, 1);
  assert.equal(healthy.seen[0]?.method, "GET");
  assert.equal(healthy.seen[0]?.url, "/health");
  assert.equal(healthy.seen[0]?.headers.authorization, undefined);
  assert.match(String(healthy.seen[0]?.headers["user-agent"]), /^keel-doctor\//);
});

test("an application answering 500 fails with the status seen", async () => {
  const sick = await app((_req, res) => res.writeHead(500).end("db down"));
  const check = await appHealth({ appHealth: `${sick.origin}/health` });
  assert.equal(check.status, "fail");
  assert.match(
    check.seen,
    /GET http:\/\/127\.0\.0\.1:\d+\/health answered 500: the application reports itself unhealthy/,
  );
  assert.match(check.fix ?? "", /must answer 2xx when healthy/);
});

test("an application that never answers fails at the probe timeout", async () => {
  const hanging = await app(() => {}); // reads the request, never answers
  const started = performance.now();
  const check = await appHealth({ appHealth: `${hanging.origin}/health` }, {}, 300);
  const took = performance.now() - started;
  assert.equal(check.status, "fail");
  assert.match(check.seen, /did not answer within 300 ms/);
  assert.equal(hanging.seen.length, 1, "the request reached the application");
  // Timers may fire a millisecond early against performance.now(): the bound, give or take.
  assert.ok(took >= 290, `the probe waited its bound (${took} ms)`);
});

test("a refused connection fails, saying it cannot be reached", async () => {
  const port = await closedPort();
  const check = await appHealth({ appHealth: `http://127.0.0.1:${port}/health` });
  assert.equal(check.status, "fail");
  assert.match(
    check.seen,
    new RegExp(`GET http://127\\.0\\.0\\.1:${port}/health cannot be reached \\(ECONNREFUSED`),
  );
});

test("production: the SSRF guard refuses loopback unless KEEL_TARGET_ALLOWLIST lets it through", async () => {
  const healthy = await app((_req, res) => res.writeHead(204).end());
  const url = `${healthy.origin}/health`;
  const refused = await appHealth({ appHealth: url }, { NODE_ENV: "production" });
  assert.equal(refused.status, "fail");
  assert.match(refused.seen, /refused by the delivery address policy/);
  assert.match(refused.fix ?? "", /KEEL_TARGET_ALLOWLIST/);
  assert.equal(healthy.seen.length, 0, "nothing was sent");

  const allowed = await appHealth(
    { appHealth: url },
    { NODE_ENV: "production", KEEL_TARGET_ALLOWLIST: "127.0.0.1" },
  );
  assert.equal(allowed.status, "pass", allowed.seen);
});

test("not configured is a pass that says how; an unset variable fails naming it", async () => {
  const none = await appHealth(undefined);
  assert.equal(none.status, "pass");
  assert.match(none.seen, /not configured: set doctor\.appHealth/);

  const unset = await appHealth({ appHealth: "${APP_URL_UNSET}/health" });
  assert.equal(unset.status, "fail");
  assert.match(unset.seen, /uses \$\{APP_URL_UNSET\}, not set/);
  assert.match(unset.fix ?? "", /set APP_URL_UNSET/);
});

test("the config file refuses Keel's own variables and what is not a URL", async () => {
  const path = join(tempDir("app-health"), "keel.config.json");
  writeFileSync(path, JSON.stringify({ doctor: { appHealth: "${DATABASE_URL}/health" } }));
  const own = await readDoctorInputs({ KEEL_CONFIG: path });
  assert.match(
    own.file.problems.join("\n"),
    /doctor\.appHealth: uses \$\{DATABASE_URL\}, Keel's own configuration/,
  );
  writeFileSync(path, JSON.stringify({ doctor: { appHealth: "app.example.com/health" } }));
  const bare = await readDoctorInputs({ KEEL_CONFIG: path });
  assert.match(bare.file.problems.join("\n"), /doctor\.appHealth: must start with http:\/\/ or https:\/\//);
});
