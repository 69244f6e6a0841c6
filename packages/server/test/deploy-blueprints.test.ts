/**
 * Every deploy blueprint, checked against Keel itself: the files parse, each start command runs
 * Keel with no shell in between (decision 037), roles exist, health paths are routes Keel serves,
 * every variable set is one Keel reads, grace periods outlast Keel's 30 s drain, and each file has
 * its page in docs/deploy/. The platforms' own JSON schemas are not vendored (tests run offline).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parse as parseToml } from "smol-toml";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { freshSchema, testDatabaseUrl } from "../../engine/test/helpers.js";
import { type RunningKeel, startKeel } from "../src/runtime/start.js";
import {
  assertKeelVariables,
  assertRole,
  dockerfileInstructions,
  keelInvocation,
  MIN_GRACE_SECONDS,
  ROOT,
  readRepoFile,
  seconds,
} from "./fixtures/blueprints.js";
import { guardServerLeaks, memoryLogger } from "./helpers.js";

// The health paths are checked against a running Keel, not against a list. Role api: every
// role serves the same health routes, and this one runs no background loop between tests.
let keel: RunningKeel;
before(async () => {
  keel = await startKeel({
    role: "api",
    env: { DATABASE_URL: testDatabaseUrl(), KEEL_SCHEMA: freshSchema("blueprints"), PORT: "0" },
    host: "127.0.0.1",
    logger: memoryLogger().logger,
  });
});
after(() => keel.stop());
// After the stop above: hooks run in the order they were registered.
guardServerLeaks();

async function assertRoute(path: string, where: string): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${keel.port}${path}`);
  await res.arrayBuffer();
  assert.ok(
    [200, 503].includes(res.status),
    `${where}: GET ${path} answers ${res.status}, not a health route`,
  );
}

function entrypoint(): string[] {
  const found = dockerfileInstructions(readRepoFile("Dockerfile")).filter((i) => i.op === "ENTRYPOINT");
  return JSON.parse((found.at(-1) as { value: string }).value);
}

test("Dockerfile: multi-stage, non-root, exec-form entrypoint, healthcheck on /health/live, ships what Keel reads", async () => {
  const ins = dockerfileInstructions(readRepoFile("Dockerfile"));
  assert.ok(ins.filter((i) => i.op === "FROM").length >= 2, "multi-stage");
  const user = ins.filter((i) => i.op === "USER").at(-1)?.value;
  assert.ok(user && user !== "root" && user !== "0", "runs as a non-root user");
  const cmd = JSON.parse(ins.filter((i) => i.op === "CMD").at(-1)?.value ?? "null");
  assert.ok(Array.isArray(cmd), "CMD in exec form");
  assert.equal(keelInvocation([...entrypoint(), ...cmd], "Dockerfile").command, "start");
  const health = ins.find((i) => i.op === "HEALTHCHECK")?.value ?? "";
  const healthCmd = JSON.parse(health.slice(health.indexOf("CMD ") + 4));
  assert.ok(Array.isArray(healthCmd), "HEALTHCHECK CMD in exec form");
  assert.match(healthCmd.join(" "), /\/health\/live/);
  const env = ins
    .filter((i) => i.op === "ENV")
    .flatMap((i) => i.value.split(/\s+/).map((kv) => kv.split("=")[0] as string));
  assertKeelVariables(env, "Dockerfile ENV");
  // The runtime stage copies what the engine reads at run time (engine/src/paths.ts).
  const copied = ins.filter((i) => i.op === "COPY").map((i) => i.value);
  for (const dir of [
    "packages/engine/sql",
    "packages/engine/migrations",
    "packages/engine/dist",
    "packages/server/dist",
    "packages/sdk/dist",
  ]) {
    assert.ok(
      copied.some((c) => c.includes(`/app/${dir} `)),
      `the image ships ${dir}`,
    );
    assert.ok(existsSync(join(ROOT, dir)), `${dir} exists in the build`);
  }
  assert.ok(
    existsSync(join(ROOT, entrypoint()[2] as string)),
    "the entrypoint's script is what the build makes",
  );
  await assertRoute("/health/live", "Dockerfile HEALTHCHECK");
});

test("docker-compose.yml: Postgres plus one service per role, exec-form commands, Keel's variables", () => {
  const compose = parseYaml(readRepoFile("docker-compose.yml"), { merge: true }) as {
    services: Record<
      string,
      { build?: string; command?: string[]; environment?: Record<string, string>; stop_grace_period?: string }
    >;
  };
  const keelServices = Object.entries(compose.services).filter(([, s]) => s.build === ".");
  const roles = keelServices.map(([name, s]) => {
    assert.ok(Array.isArray(s.command), `${name}: command in exec form`);
    assertKeelVariables(Object.keys(s.environment ?? {}), `docker-compose ${name}`);
    assert.ok(
      seconds(s.stop_grace_period) >= MIN_GRACE_SECONDS,
      `${name}: stop_grace_period outlasts the drain`,
    );
    return keelInvocation([...entrypoint(), ...(s.command as string[])], `docker-compose ${name}`).role;
  });
  assert.deepEqual(roles.sort(), ["api", "scheduler", "worker"]);
  assert.ok(compose.services.postgres, "a Postgres service");
});

test("deploy/render.yaml: api web service, worker, scheduler, Postgres; roles by KEEL_ROLE; real health path", async () => {
  const render = parseYaml(readRepoFile("deploy/render.yaml")) as {
    services: {
      type: string;
      name: string;
      dockerfilePath?: string;
      dockerCommand?: string;
      healthCheckPath?: string;
      preDeployCommand?: string;
      maxShutdownDelaySeconds?: number;
      envVars: { key?: string; value?: string; fromDatabase?: { name: string }; fromGroup?: string }[];
    }[];
    databases: { name: string }[];
    envVarGroups: { name: string; envVars: { key: string }[] }[];
  };
  const roles: Record<string, string> = {};
  for (const s of render.services) {
    const where = `render.yaml ${s.name}`;
    assert.ok(existsSync(join(ROOT, s.dockerfilePath ?? "")), `${where}: the Dockerfile exists`);
    const role = s.envVars.find((e) => e.key === "KEEL_ROLE")?.value as string;
    assertRole(role, where);
    roles[s.name] = `${s.type}:${role}`;
    if (s.dockerCommand) keelInvocation(s.dockerCommand, where);
    if (s.preDeployCommand) assert.equal(keelInvocation(s.preDeployCommand, where).command, "migrate");
    if (s.healthCheckPath) await assertRoute(s.healthCheckPath, where);
    assert.ok(
      (s.maxShutdownDelaySeconds ?? 30) >= MIN_GRACE_SECONDS,
      `${where}: shutdown delay outlasts the drain`,
    );
    assertKeelVariables(
      s.envVars.flatMap((e) => (e.key ? [e.key] : [])),
      where,
    );
    for (const e of s.envVars) {
      if (e.fromDatabase)
        assert.ok(
          render.databases.some((d) => d.name === e.fromDatabase?.name),
          `${where}: database ${e.fromDatabase.name}`,
        );
      if (e.fromGroup)
        assert.ok(
          render.envVarGroups.some((g) => g.name === e.fromGroup),
          `${where}: group ${e.fromGroup}`,
        );
    }
  }
  assert.deepEqual(Object.values(roles).sort(), ["web:api", "worker:scheduler", "worker:worker"]);
  for (const g of render.envVarGroups)
    assertKeelVariables(
      g.envVars.map((e) => e.key),
      `render.yaml group ${g.name}`,
    );
});

test("deploy/railway: API, worker and scheduler services from the one Dockerfile, exec-form start commands", async () => {
  const roles = [];
  for (const file of ["api", "worker", "scheduler"]) {
    const where = `deploy/railway/${file}.json`;
    const config = JSON.parse(readRepoFile(where)) as {
      build: { builder: string; dockerfilePath: string };
      deploy: {
        startCommand: string;
        preDeployCommand?: string[];
        healthcheckPath?: string;
        drainingSeconds?: number;
      };
    };
    assert.equal(config.build.builder, "DOCKERFILE");
    assert.ok(existsSync(join(ROOT, config.build.dockerfilePath)), `${where}: the Dockerfile exists`);
    // Railway runs a Dockerfile service's start command in exec form, in place of the entrypoint.
    const run = keelInvocation(config.deploy.startCommand, where);
    assert.equal(run.command, "start");
    roles.push(run.role);
    for (const c of config.deploy.preDeployCommand ?? [])
      assert.equal(keelInvocation(c, where).command, "migrate");
    if (config.deploy.healthcheckPath) await assertRoute(config.deploy.healthcheckPath, where);
    assert.ok(
      (config.deploy.drainingSeconds ?? 0) >= MIN_GRACE_SECONDS,
      `${where}: draining outlasts Keel's drain`,
    );
  }
  assert.deepEqual(roles, ["api", "worker", "scheduler"]);
});

test("deploy/fly.toml: process groups are Keel arguments per role, checks on real routes, release runs migrate", async () => {
  const fly = parseToml(readRepoFile("deploy/fly.toml")) as {
    kill_signal: string;
    kill_timeout: number;
    build: { dockerfile: string };
    deploy: { release_command: string };
    env: Record<string, string>;
    processes: Record<string, string>;
    http_service: { internal_port: number; processes: string[]; checks: { path: string }[] };
    checks: Record<string, { path: string; port: number; processes: string[] }>;
  };
  assert.equal(fly.kill_signal, "SIGTERM");
  assert.ok(seconds(fly.kill_timeout) >= MIN_GRACE_SECONDS, "kill_timeout outlasts the drain");
  assert.ok(existsSync(join(ROOT, fly.build.dockerfile)), "the Dockerfile exists (from the repository root)");
  assertKeelVariables(Object.keys(fly.env), "fly.toml [env]");
  // Fly passes each process's command to the image's entrypoint, without a shell.
  const roles = Object.entries(fly.processes).map(([name, cmd]) => {
    const run = keelInvocation([...entrypoint(), ...cmd.split(" ")], `fly.toml process ${name}`);
    assert.equal(run.command, "start");
    return run.role;
  });
  assert.deepEqual(roles.sort(), ["api", "scheduler", "worker"]);
  assert.equal(
    keelInvocation([...entrypoint(), ...fly.deploy.release_command.split(" ")], "release_command").command,
    "migrate",
  );
  assert.equal(fly.http_service.internal_port, Number(fly.env.PORT));
  for (const p of fly.http_service.processes) assert.ok(fly.processes[p], `http_service process ${p}`);
  for (const c of fly.http_service.checks) await assertRoute(c.path, "fly.toml http_service check");
  for (const [name, c] of Object.entries(fly.checks)) {
    await assertRoute(c.path, `fly.toml check ${name}`);
    assert.equal(c.port, Number(fly.env.PORT));
    for (const p of c.processes) assert.ok(fly.processes[p], `check ${name}: process ${p}`);
  }
});

interface K8sContainer {
  args?: string[];
  command?: string[];
  livenessProbe?: { httpGet: { path: string } };
  readinessProbe?: { httpGet: { path: string } };
  env?: { name: string }[];
  lifecycle?: { preStop?: unknown };
}
interface K8sObject {
  kind: string;
  metadata: { name: string };
  spec: {
    selector?: { matchLabels: Record<string, string> };
    template?: { metadata: { labels: Record<string, string> }; spec: K8sPod };
    minAvailable?: number;
  };
}
interface K8sPod {
  containers: K8sContainer[];
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean };
}

test("deploy/kubernetes: a Deployment per role with live/ready probes, PodDisruptionBudgets, a migration Job", async () => {
  const kustomization = parseYaml(readRepoFile("deploy/kubernetes/kustomization.yaml")) as {
    resources: string[];
  };
  const objects: K8sObject[] = kustomization.resources.flatMap((file) =>
    parseAllDocuments(readRepoFile(`deploy/kubernetes/${file}`)).map((d) => {
      assert.deepEqual(d.errors, [], file);
      return d.toJS() as K8sObject;
    }),
  );
  const deployments = objects.filter((o) => o.kind === "Deployment");
  const budgets = objects.filter((o) => o.kind === "PodDisruptionBudget");
  const roles: string[] = [];
  for (const d of deployments) {
    const where = `kubernetes ${d.metadata.name}`;
    const pod = d.spec.template?.spec as K8sPod;
    assert.ok(pod.securityContext?.runAsNonRoot, `${where}: runAsNonRoot`);
    assert.ok(
      (pod.terminationGracePeriodSeconds ?? 30) >= MIN_GRACE_SECONDS + 5,
      `${where}: grace outlasts preStop + drain`,
    );
    const [c] = pod.containers as [K8sContainer];
    assert.equal(c.command, undefined, `${where}: keeps the image's entrypoint (no shell)`);
    const run = keelInvocation([...entrypoint(), ...(c.args ?? [])], where);
    roles.push(run.role as string);
    assert.equal(c.livenessProbe?.httpGet.path, "/health/live", `${where}: liveness`);
    assert.equal(c.readinessProbe?.httpGet.path, "/health/ready", `${where}: readiness`);
    for (const path of [c.livenessProbe?.httpGet.path, c.readinessProbe?.httpGet.path])
      await assertRoute(path as string, where);
    assertKeelVariables(
      (c.env ?? []).map((e) => e.name),
      where,
    );
    assert.deepEqual(
      d.spec.selector?.matchLabels,
      pickLabels(d.spec.template?.metadata.labels, d.spec.selector?.matchLabels),
    );
    const labels = d.spec.template?.metadata.labels ?? {};
    assert.ok(
      budgets.some((b) =>
        Object.entries(b.spec.selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v),
      ),
      `${where}: a PodDisruptionBudget selects its pods`,
    );
  }
  assert.deepEqual(roles.sort(), ["api", "scheduler", "worker"]);
  const job = objects.find((o) => o.kind === "Job");
  const [migrate] = job?.spec.template?.spec.containers ?? [];
  assert.equal(
    keelInvocation([...entrypoint(), ...(migrate?.args ?? [])], "migration Job").command,
    "migrate",
  );
});

function pickLabels(labels: Record<string, string> | undefined, keys: Record<string, string> | undefined) {
  return Object.fromEntries(Object.keys(keys ?? {}).map((k) => [k, labels?.[k]]));
}

test("each blueprint has its page in docs/deploy/, linked from the index", () => {
  const index = readRepoFile("docs/deploy/README.md");
  for (const [page, file] of [
    ["docker.md", "Dockerfile"],
    ["docker.md", "docker-compose.yml"],
    ["render.md", "deploy/render.yaml"],
    ["railway.md", "deploy/railway/"],
    ["fly.md", "deploy/fly.toml"],
    ["kubernetes.md", "deploy/kubernetes/"],
  ] as const) {
    assert.ok(index.includes(`(${page})`), `docs/deploy/README.md links ${page}`);
    assert.ok(readRepoFile(`docs/deploy/${page}`).includes(file), `docs/deploy/${page} names ${file}`);
  }
});
