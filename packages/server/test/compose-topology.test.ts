/**
 * The Docker Compose topology run for real without Docker: each Keel service of
 * docker-compose.yml started as the image would start it (its entrypoint and command, the
 * Dockerfile's ENV and the service's environment), against the test Postgres instead of the
 * `postgres` service. A job created through `api` is delivered by `worker`, a schedule created
 * through `api` is fired by `scheduler`, the image's HEALTHCHECK passes against each, and
 * SIGTERM stops each cleanly.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { parse as parseYaml } from "yaml";
import { freshSchema, testDatabaseUrl, waitFor } from "../../engine/test/helpers.js";
import { dockerfileInstructions, ROOT, readRepoFile } from "./fixtures/blueprints.js";
import { newSecret, startEndpoint } from "./fixtures/delivery-servers.js";
import { guardServerLeaks, type KeelProcess, logLine, spawnLauncher } from "./helpers.js";

guardServerLeaks();

interface Service {
  build?: string;
  command: string[];
  environment: Record<string, string>;
}

test("docker-compose.yml's api, worker and scheduler, run as processes: deliveries, schedules, health, clean stop", async () => {
  const dockerfile = dockerfileInstructions(readRepoFile("Dockerfile"));
  const entrypoint = JSON.parse(
    dockerfile.filter((i) => i.op === "ENTRYPOINT").at(-1)?.value ?? "[]",
  ) as string[];
  const imageEnv = Object.fromEntries(
    dockerfile
      .filter((i) => i.op === "ENV")
      .flatMap((i) => i.value.split(/\s+/).map((kv) => kv.split("=") as [string, string])),
  );
  const health = dockerfile.find((i) => i.op === "HEALTHCHECK")?.value ?? "";
  const healthCmd = JSON.parse(health.slice(health.indexOf("CMD ") + 4)) as string[];
  const compose = parseYaml(readRepoFile("docker-compose.yml"), { merge: true }) as {
    services: Record<string, Service>;
  };
  // What .env would hold.
  const secrets: Record<string, string> = {
    KEEL_ADMIN_TOKEN: randomBytes(32).toString("base64url"),
    KEEL_METRICS_TOKEN: randomBytes(32).toString("base64url"),
    KEEL_SIGNING_SECRET: newSecret(),
  };
  const schema = freshSchema("compose");
  const endpoint = await startEndpoint((_req, res) => res.writeHead(200).end("ok"));
  const running: Record<string, KeelProcess> = {};
  try {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.build !== ".") continue;
      const env: Record<string, string> = { ...imageEnv };
      for (const [key, value] of Object.entries(service.environment)) {
        env[key] = value.replace(/\$\{(\w+):\?[^}]*\}/g, (_, v: string) => secrets[v] ?? "");
      }
      assert.match(env.DATABASE_URL ?? "", /@postgres:5432\//, "Keel reaches the postgres service");
      // What Docker gives each container and this machine does not: its own Postgres service
      // (the test database, in a schema of its own), its own network namespace (any free port),
      // and a receiver on a public address (here loopback, so it is allowed explicitly).
      Object.assign(env, {
        DATABASE_URL: testDatabaseUrl(),
        KEEL_SCHEMA: schema,
        PORT: "0",
        KEEL_HOST: "127.0.0.1",
        KEEL_TARGET_ALLOWLIST: "127.0.0.1",
      });
      const [node, ...argv] = [...entrypoint, ...service.command];
      assert.equal(node, "node");
      running[name] = spawnLauncher(process.execPath, argv, env);
    }
    assert.deepEqual(Object.keys(running).sort(), ["api", "scheduler", "worker"]);
    const ports: Record<string, number> = {};
    for (const [name, proc] of Object.entries(running)) {
      await waitFor(
        () => logLine(proc, "keel started") ?? proc.child.exitCode !== null,
        60_000,
        `${name} started`,
      );
      const started = logLine(proc, "keel started");
      assert.ok(
        started,
        `${name} did not start: ${[...proc.other, ...proc.lines.map((l) => JSON.stringify(l))].join("\n")}`,
      );
      assert.equal(started.role, name);
      ports[name] = started.port as number;
      // The image's HEALTHCHECK, as Docker would run it inside the container.
      const check = spawnSync(healthCmd[0] as string, healthCmd.slice(1), {
        env: { ...process.env, PORT: String(ports[name]) },
        cwd: ROOT,
        timeout: 10_000,
      });
      assert.equal(check.status, 0, `${name}: HEALTHCHECK ${check.stderr}`);
      const ready = await fetch(`http://127.0.0.1:${ports[name]}/health/ready`);
      assert.equal(ready.status, 200, `${name}: ${await ready.text()}`);
    }
    const api = (method: string, path: string, body: unknown) =>
      fetch(`http://127.0.0.1:${ports.api}/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${secrets.KEEL_ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const job = await api("POST", "/jobs", { queue: "hooks", target: { url: `${endpoint.origin}/job` } });
    assert.equal(job.status, 201, await job.clone().text());
    const schedule = await api("PUT", "/schedules/every-second", {
      cron: "* * * * * *",
      target: { url: `${endpoint.origin}/tick` },
    });
    assert.equal(schedule.status, 201, await schedule.clone().text());
    await waitFor(
      () => endpoint.received.some((r) => r.url === "/job"),
      30_000,
      "the worker to deliver the job",
    );
    await waitFor(
      () => endpoint.received.some((r) => r.url === "/tick"),
      30_000,
      "the scheduler's job delivered",
    );
    for (const proc of Object.values(running)) proc.child.kill("SIGTERM");
    for (const [name, proc] of Object.entries(running)) {
      assert.deepEqual(await proc.exited, { code: 0, signal: null }, `${name} stopped cleanly`);
      assert.ok(logLine(proc, "keel stopped"), `${name} drained`);
    }
  } finally {
    await endpoint.close();
  }
});
