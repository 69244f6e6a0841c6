/**
 * The fault suite's shared parts: its scale (bounded in `npm test`, full with KEEL_FAULTS=full),
 * Keel processes in every role on a Postgres the test owns, a load of API enqueues, signed
 * intake posts and rate-limit checks with a ledger of what was acknowledged, and the result
 * lines that `npm run test:faults` collects into RELIABILITY.md.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import { waitFor } from "../../../engine/test/helpers.js";
import { newSecret, startEndpoint, type TestEndpoint } from "../fixtures/delivery-servers.js";
import { get, type KeelProcess, logLine, spawnKeel, tempDir } from "../helpers.js";

/** True for `npm run test:faults`: the full durations and counts. */
export const FULL = process.env.KEEL_FAULTS === "full";

/** One row of RELIABILITY.md. Fields that do not apply are null. */
export interface FaultResult {
  scenario: string;
  lost: number | null;
  duplicates: number | null;
  exits: number | null;
  /** Seconds from the fault's end until the work resumed. */
  recoverySeconds: number | null;
  /** Responses 5xx other than 503 (503 is the expected answer during a fault). */
  unexpected5xx: number | null;
  /** Slowest response while the fault lasted, in seconds. */
  slowestSeconds?: number | null;
  /** Peak resident memory of the Keel processes, MiB. */
  rssMiB: number | null;
  notes?: string;
}

/** Prints a result line and appends it to KEEL_FAULTS_OUT (a JSON-lines file) when set. */
export function reportFault(result: FaultResult): void {
  const line = JSON.stringify(result);
  console.log(`fault-result ${line}`);
  const out = process.env.KEEL_FAULTS_OUT;
  if (out) appendFileSync(out, `${line}\n`);
}

export const SOURCE = "faulthooks";
export const POLICY = "faultapi";

export interface Cluster {
  adminToken: string;
  sourceSecret: string;
  endpoint: TestEndpoint;
  /** Deliveries counted by what they carry: API jobs by id, intake events by provider id, cron slots by fire time. */
  deliveries: { hook: Map<string, number>; intake: Map<string, number>; cron: Map<string, number> };
  /** Each schedule delivery: its slot (epoch ms) and when it arrived (performance.now()). */
  cronArrivals: { fireTime: number; at: number }[];
  env: Record<string, string>;
  configFile: string;
}

/**
 * The pieces every Keel process of a fault test shares: production mode (strict checks, no
 * error details in answers), tokens, a receiver endpoint and a config file with one source,
 * one rate-limit policy and one every-second schedule.
 */
export async function cluster(databaseUrl: string): Promise<Cluster> {
  const deliveries = { hook: new Map<string, number>(), intake: new Map(), cron: new Map() };
  const cronArrivals: Cluster["cronArrivals"] = [];
  const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  const endpoint = await startEndpoint((req, res) => {
    if (req.url === "/hook") count(deliveries.hook, String(req.headers["keel-job-id"]));
    else if (req.url === "/intake") count(deliveries.intake, `evt_${JSON.parse(req.body).data.n}`);
    else if (req.url === "/cron") {
      count(deliveries.cron, String(req.headers["keel-fire-time"]));
      cronArrivals.push({
        fireTime: Date.parse(String(req.headers["keel-fire-time"])),
        at: performance.now(),
      });
    }
    res.writeHead(204).end();
  });
  const dir = tempDir("faults");
  const configFile = join(dir, "keel.config.yaml");
  writeFileSync(
    configFile,
    `queues:
  faults: { concurrency: 20, maxAttempts: 50 }
schedules:
  fault-tick:
    cron: "* * * * * *"
    target: { url: "${endpoint.origin}/cron" }
sources:
  ${SOURCE}:
    provider: standard
    secrets: ["\${FAULT_SOURCE_SECRET}"]
    routes:
      - events: ["*"]
        target: { url: "${endpoint.origin}/intake" }
policies:
  ${POLICY}: { limit: 1000000, window: 1, failMode: fallback }
`,
  );
  const adminToken = randomBytes(24).toString("hex");
  const sourceSecret = newSecret();
  const env = {
    DATABASE_URL: databaseUrl,
    NODE_ENV: "production",
    KEEL_ADMIN_TOKEN: adminToken,
    KEEL_METRICS_TOKEN: randomBytes(24).toString("hex"),
    KEEL_SIGNING_SECRET: newSecret(),
    KEEL_TARGET_ALLOWLIST: "127.0.0.1",
    KEEL_CONFIG: configFile,
    KEEL_LEASE_SECONDS: "5",
    FAULT_SOURCE_SECRET: sourceSecret,
    PORT: "0",
  };
  return { adminToken, sourceSecret, endpoint, deliveries, cronArrivals, env, configFile };
}

export interface Role {
  role: string;
  proc: KeelProcess;
  port: number;
}

/** Starts `keel start --role <role>` for each role and waits until each has started. */
export async function startRoles(c: Cluster, roles: readonly string[]): Promise<Role[]> {
  const procs = roles.map((role) => ({ role, proc: spawnKeel(["start", "--role", role], c.env) }));
  const out: Role[] = [];
  for (const { role, proc } of procs) {
    await waitFor(
      () => logLine(proc, "keel started") ?? proc.child.exitCode !== null,
      60_000,
      `${role} start`,
    );
    const started = logLine(proc, "keel started");
    assert.ok(started, `keel --role ${role} did not start: ${proc.other.join("\n")}`);
    const port = Number(started.port);
    await waitFor(
      async () => (await get(`http://127.0.0.1:${port}/health/ready`))?.status === 200,
      30_000,
      `${role} ready`,
    );
    out.push({ role, proc, port });
  }
  return out;
}

/** The HTTP ports of the roles that serve the API (`api`, `all`). */
export function apiPorts(roles: readonly Role[]): number[] {
  return roles.filter((r) => r.role === "api" || r.role === "all").map((r) => r.port);
}

/** The roles whose process has exited. */
export function exited(roles: readonly Role[]): Role[] {
  return roles.filter((r) => r.proc.child.exitCode !== null || r.proc.child.signalCode !== null);
}

/** What the load saw while a fault lasted (from `began` to `ended`, performance.now()). */
export interface FaultWindow {
  during: Sample[];
  /** No answer at all, or a 5xx other than 503. */
  unexpected: Sample[];
  /** The slowest answer, seconds. */
  slowestSeconds: number;
  /** Until the first enqueue answered 201 on every API port after `ended`, seconds. */
  recoverySeconds: number;
  /** When that was (performance.now()). */
  resumedAt: number;
}

/** Waits until enqueues succeed again on every API port after `ended`, then sums up the window. */
export async function faultWindow(
  load: Load,
  ports: readonly number[],
  began: number,
  ended: number,
  scenario: string,
): Promise<FaultWindow> {
  const firsts = await waitFor(
    () => {
      const found = ports.map((port) =>
        load.samples.find(
          (s) => s.port === port && s.kind === "enqueue" && s.status === 201 && s.start >= ended,
        ),
      );
      return found.every(Boolean) ? (found as Sample[]) : undefined;
    },
    30_000,
    `${scenario}: enqueues succeed again`,
  );
  const resumedAt = Math.max(...firsts.map((s) => s.end));
  const during = load.between(began, ended);
  return {
    during,
    unexpected: during.filter((s) => s.status === 0 || (s.status >= 500 && s.status !== 503)),
    slowestSeconds: Math.max(0, ...during.map((s) => s.end - s.start)) / 1000,
    recoverySeconds: (resumedAt - ended) / 1000,
    resumedAt,
  };
}

/** Peak resident set size of a process so far (VmHWM), MiB. */
export function peakRssMiB(pid: number | undefined): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return Math.round(kb / 1024);
  } catch {
    return 0;
  }
}

/** One answered request of the load. */
export interface Sample {
  kind: "enqueue" | "intake" | "ratelimit";
  port: number;
  start: number;
  end: number;
  /** 0 when the connection failed. */
  status: number;
  code?: string;
  message?: string;
}

/**
 * A steady load against the API roles until stopped: job enqueues, signed intake posts and
 * rate-limit checks, `concurrency` of each kind at once. Whatever was answered 2xx is in the
 * ledger; everything answered is in `samples`.
 */
export class Load {
  readonly samples: Sample[] = [];
  readonly ackedJobs = new Set<string>();
  readonly ackedEvents = new Set<string>();
  private running = true;
  private readonly loops: Promise<void>[] = [];
  private seq = 0;
  private readonly webhook: Webhook;

  constructor(
    private readonly c: Cluster,
    private readonly ports: readonly number[],
    concurrency = 2,
  ) {
    this.webhook = new Webhook(c.sourceSecret);
    for (let i = 0; i < concurrency; i++) {
      for (const kind of ["enqueue", "intake", "ratelimit"] as const) this.loops.push(this.loop(kind));
    }
  }

  /** Samples that started at or after `from` (performance.now()) and before `to`. */
  between(from: number, to: number): Sample[] {
    return this.samples.filter((s) => s.start >= from && s.start < to);
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(kind: Sample["kind"]): Promise<void> {
    while (this.running) {
      const n = this.seq++;
      const port = this.ports[n % this.ports.length] as number;
      const start = performance.now();
      const sample: Sample = { kind, port, start, end: start, status: 0 };
      try {
        const res = await this.send(kind, port, n);
        sample.status = res.status;
        const body = (await res.json().catch(() => ({}))) as {
          id?: string;
          error?: { code?: string; message?: string };
        };
        sample.code = body.error?.code;
        sample.message = body.error?.message;
        if (res.status === 201 && kind === "enqueue" && body.id) this.ackedJobs.add(body.id);
        if (res.status === 200 && kind === "intake") this.ackedEvents.add(`evt_${n}`);
      } catch {
        // The process did not answer at all: counted as status 0.
      }
      sample.end = performance.now();
      this.samples.push(sample);
      // A refused or failed request is retried after a short pause, as a client would.
      if (sample.status === 0 || sample.status >= 500) await new Promise((r) => setTimeout(r, 50));
    }
  }

  private send(kind: Sample["kind"], port: number, n: number): Promise<Response> {
    const base = `http://127.0.0.1:${port}`;
    const signal = AbortSignal.timeout(30_000);
    const auth = { authorization: `Bearer ${this.c.adminToken}`, "content-type": "application/json" };
    if (kind === "enqueue") {
      return fetch(`${base}/v1/jobs`, {
        method: "POST",
        headers: auth,
        signal,
        body: JSON.stringify({
          queue: "faults",
          target: { url: `${this.c.endpoint.origin}/hook` },
          payload: { n },
          backoff: { type: "fixed", delayMs: 200 },
        }),
      });
    }
    if (kind === "ratelimit") {
      return fetch(`${base}/v1/ratelimit/check`, {
        method: "POST",
        headers: auth,
        signal,
        body: JSON.stringify({ policy: POLICY, key: `k${n % 7}` }),
      });
    }
    const id = `evt_${n}`;
    const body = JSON.stringify({ type: "fault.test", data: { n } });
    const at = new Date(Math.floor(Date.now() / 1000) * 1000);
    return fetch(`${base}/in/${SOURCE}`, {
      method: "POST",
      signal,
      headers: {
        "content-type": "application/json",
        "webhook-id": id,
        "webhook-timestamp": String(at.getTime() / 1000),
        "webhook-signature": this.webhook.sign(id, at, body),
      },
      body,
    });
  }
}

/**
 * Once the load has stopped: waits until every acknowledged job and intake event is delivered
 * (up to two minutes), reports the ledger row of `scenario` (lost, duplicates, exits, peak RSS)
 * and asserts nothing acknowledged was lost.
 */
export async function settleLedger(
  c: Cluster,
  load: Load,
  roles: readonly Role[],
  scenario: string,
  notes?: string,
): Promise<void> {
  const { hook, intake } = c.deliveries;
  const delivered = () =>
    [...load.ackedJobs].every((id) => hook.has(id)) && [...load.ackedEvents].every((id) => intake.has(id));
  await waitFor(delivered, 120_000, "every acknowledged job and event delivered").catch(() => {});
  const lost =
    [...load.ackedJobs].filter((id) => !hook.has(id)).length +
    [...load.ackedEvents].filter((id) => !intake.has(id)).length;
  reportFault({
    scenario: `${scenario}: ledger of ${load.ackedJobs.size} jobs and ${load.ackedEvents.size} intake events`,
    lost,
    duplicates: [...hook.values(), ...intake.values()].reduce((n, k) => n + k - 1, 0),
    exits: exited(roles).length,
    recoverySeconds: null,
    unexpected5xx: null,
    rssMiB: Math.max(...roles.map((r) => peakRssMiB(r.proc.child.pid))),
    ...(notes ? { notes } : {}),
  });
  assert.equal(lost, 0, "no acknowledged job or event lost");
  assert.ok(load.ackedJobs.size > 0 && load.ackedEvents.size > 0, "the load was acknowledged at all");
}
