/**
 * Postgres connections taken away from Keel while it works: every Keel backend terminated with
 * `pg_terminate_backend` in a loop, then the server's connection slots exhausted by 300 idle
 * connections held against it. No process exits, answers are 2xx or 503, work resumes within
 * 5 s once the storm ends, and nothing acknowledged is lost.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import pg from "pg";
import { guardServerLeaks } from "../helpers.js";
import {
  apiPorts,
  cluster,
  exited,
  FULL,
  faultWindow,
  Load,
  peakRssMiB,
  type Role,
  reportFault,
  settleLedger,
  startRoles,
} from "./harness.js";
import { ownedPostgres } from "./owned-postgres.js";

guardServerLeaks();

const STORM_S = FULL ? 30 : 5;
const HOLD_S = FULL ? 20 : 5;
const HOGS = 300;
const RECOVERY_BOUND_S = 5;
const ROLES = ["api", "worker", "scheduler", "all"] as const;

const pgServer = await ownedPostgres();
const c = await cluster(pgServer.url);
after(() => c.endpoint.close());

test("terminate_backend storms and exhausted connection slots: every role stays up, nothing acknowledged is lost", async () => {
  const roles: Role[] = await startRoles(c, ROLES);
  const ports = apiPorts(roles);
  const load = new Load(c, ports, 3);
  const admin = new pg.Client({ connectionString: pgServer.url, application_name: "fault-admin" });
  await admin.connect();
  admin.on("error", () => {});

  const measure = async (scenario: string, began: number, ended: number, notes: string) => {
    const { during, unexpected, slowestSeconds, recoverySeconds } = await faultWindow(
      load,
      ports,
      began,
      ended,
      scenario,
    );
    reportFault({
      scenario,
      lost: null,
      duplicates: null,
      exits: exited(roles).length,
      recoverySeconds: Math.round(recoverySeconds * 100) / 100,
      unexpected5xx: unexpected.length,
      slowestSeconds: Math.round(slowestSeconds * 1000) / 1000,
      rssMiB: Math.max(...roles.map((r) => peakRssMiB(r.proc.child.pid))),
      notes: `${notes}; ${during.filter((s) => s.status < 300).length} answered 2xx and ${during.filter((s) => s.status === 503).length} 503 meanwhile`,
    });
    assert.deepEqual(
      exited(roles).map((r) => r.role),
      [],
      `${scenario}: no process exits`,
    );
    assert.deepEqual(
      unexpected.map((s) => `${s.kind} ${s.status} ${s.code ?? ""} ${s.message ?? ""}`),
      [],
      `${scenario}: every answer is 2xx or 503`,
    );
    assert.ok(recoverySeconds <= RECOVERY_BOUND_S, `${scenario}: resumed after ${recoverySeconds} s`);
  };

  // 1. Every Keel backend (pools, LISTEN connections, probes) terminated every 100 ms.
  let terminated = 0;
  const stormBegan = performance.now();
  while (performance.now() - stormBegan < STORM_S * 1000) {
    const res = await admin.query(
      "select count(pg_terminate_backend(pid))::int n from pg_stat_activity where application_name like 'keel%'",
    );
    terminated += res.rows[0].n;
    await new Promise((r) => setTimeout(r, 100));
  }
  const stormEnded = performance.now();
  await measure(
    `pg_terminate_backend of every Keel connection every 100 ms for ${STORM_S} s, roles ${ROLES.join("+")}`,
    stormBegan,
    stormEnded,
    `${terminated} connections terminated`,
  );

  // 2. Idle connections taken until the server refuses more ("too many clients"), held, released.
  const hogs: pg.Client[] = [];
  let refused = 0;
  const holdBegan = performance.now();
  await Promise.all(
    Array.from({ length: HOGS }, async () => {
      const hog = new pg.Client({ connectionString: pgServer.url, application_name: "fault-hog" });
      hog.on("error", () => {});
      try {
        await hog.connect();
        hogs.push(hog);
      } catch {
        refused++;
      }
    }),
  );
  // Keel's pools drop idle connections after 10 s: within the hold they must open new ones.
  await new Promise((r) => setTimeout(r, HOLD_S * 1000));
  await Promise.all(hogs.map((h) => h.end().catch(() => {})));
  const holdEnded = performance.now();
  await measure(
    `${HOGS} idle connections against the server for ${HOLD_S} s (slots exhausted), roles ${ROLES.join("+")}`,
    holdBegan,
    holdEnded,
    `${hogs.length} held, ${refused} refused by the server`,
  );
  assert.ok(refused > 0, "the server's connection slots were exhausted");
  await admin.end();

  await load.stop();
  await settleLedger(c, load, roles, "connection faults above");
  for (const r of roles) r.proc.child.kill("SIGTERM");
  for (const r of roles) assert.equal((await r.proc.exited).code, 0, `${r.role} drains and exits 0`);
});
