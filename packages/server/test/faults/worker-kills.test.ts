/**
 * HTTP delivery by `keel start --role worker` processes that are SIGKILLed again and again while
 * they work through a backlog: every acknowledged job is delivered (lost = 0), a duplicate only
 * comes from a kill (at most kills × the 40 delivery slots of a process), and the jobs a killed
 * worker held are delivered again within the lease + 5 s.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Engine } from "@keel/engine";
import { onCleanup, waitFor } from "../../../engine/test/helpers.js";
import { guardServerLeaks, type KeelProcess, logLine, spawnKeel } from "../helpers.js";
import { cluster, FULL, peakRssMiB, reportFault } from "./harness.js";
import { ownedPostgres } from "./owned-postgres.js";

guardServerLeaks();

const JOBS = FULL ? 20_000 : 3_000;
const KILLS = FULL ? 30 : 6;
const WORKERS = 3;
const SLOTS = 40; // keel start's delivery slots per process
const LEASE_S = 5;
const RECOVERY_BOUND_S = LEASE_S + 5;

const pgServer = await ownedPostgres();
const c = await cluster(pgServer.url);
after(() => c.endpoint.close());
const engine = await Engine.connect({ migrate: true, connectionString: pgServer.url });
onCleanup(() => engine.close());

async function startWorker(): Promise<KeelProcess> {
  const proc = spawnKeel(["start", "--role", "worker"], { ...c.env, KEEL_LEASE_SECONDS: String(LEASE_S) });
  await waitFor(() => logLine(proc, "keel started") ?? proc.child.exitCode !== null, 60_000, "worker start");
  assert.ok(logLine(proc, "keel started"), proc.other.join("\n"));
  return proc;
}

test(`${KILLS} SIGKILLs of ${WORKERS} delivering workers over ${JOBS} jobs: lost 0, duplicates bounded, recovery within lease + 5 s`, async () => {
  const acked = [];
  for (let i = 0; i < JOBS; i += 1_000) {
    acked.push(
      ...(await engine.enqueueMany(
        Array.from({ length: Math.min(1_000, JOBS - i) }, (_, k) => ({
          queue: "kills",
          target: { url: `${c.endpoint.origin}/hook` },
          payload: { n: i + k },
        })),
      )),
    );
  }
  const ids = new Set(acked.map((r) => r.id));
  const workers = await Promise.all(Array.from({ length: WORKERS }, startWorker));
  let peakRss = 0;
  const killedAt: number[] = [];
  // Kills spread over the backlog: each waits for some progress, then takes a random worker.
  for (let kill = 0; kill < KILLS; kill++) {
    const before = c.deliveries.hook.size;
    await waitFor(
      () => c.deliveries.hook.size >= Math.min(ids.size, before + Math.floor(JOBS / (KILLS + 2))),
      120_000,
      "progress before the next kill",
    );
    const i = Math.floor(Math.random() * workers.length);
    const victim = workers[i] as KeelProcess;
    peakRss = Math.max(peakRss, peakRssMiB(victim.child.pid));
    victim.child.kill("SIGKILL");
    await victim.exited;
    killedAt.push(Date.now());
    workers[i] = await startWorker();
  }
  await waitFor(() => [...ids].every((id) => c.deliveries.hook.has(id)), 300_000, "every job delivered");
  const lost = [...ids].filter((id) => !c.deliveries.hook.has(id)).length;
  const duplicates = [...c.deliveries.hook.values()].reduce((n, k) => n + k - 1, 0);

  // For each attempt cut by a kill: from the kill to the job's next attempt.
  const { rows } = await engine.pool.query<{ cut: Date; next: Date | null }>(
    `select a.started_at as cut,
            (select min(b.started_at) from keel.job_tries b where b.job_id = a.job_id and b.attempt > a.attempt) as next
     from keel.job_tries a where a.outcome = 'lease_expired'`,
  );
  const recoveries = rows.map((r) => {
    const kill = killedAt.find((k) => k >= r.cut.getTime()) ?? r.cut.getTime();
    return ((r.next?.getTime() ?? Number.POSITIVE_INFINITY) - kill) / 1000;
  });
  const worstRecovery = Math.max(0, ...recoveries);
  for (const w of workers) peakRss = Math.max(peakRss, peakRssMiB(w.child.pid));
  reportFault({
    scenario: `${KILLS} SIGKILLs of ${WORKERS} keel --role worker processes over ${JOBS} HTTP jobs (lease ${LEASE_S} s)`,
    lost,
    duplicates,
    exits: null,
    recoverySeconds: Math.round(worstRecovery * 100) / 100,
    unexpected5xx: null,
    rssMiB: peakRss,
    notes: `${rows.length} attempts cut by a kill; duplicates allowed: kills × ${SLOTS} slots = ${KILLS * SLOTS}`,
  });
  assert.equal(lost, 0);
  assert.ok(duplicates <= KILLS * SLOTS, `duplicates ${duplicates} > ${KILLS * SLOTS}`);
  assert.ok(worstRecovery <= RECOVERY_BOUND_S, `a killed worker's job waited ${worstRecovery} s`);
  for (const w of workers) w.child.kill("SIGTERM");
  for (const w of workers) assert.equal((await w.exited).code, 0);
});
