import type { Engine } from "@keel/engine";
import { type DoctorCheck, pass, problem } from "./types.js";

export interface OperationsCheckOptions {
  /** The span dead-letter growth compares with the one before. Default 1 hour. */
  deadLetterWindowSeconds?: number;
  /** A schedule whose latest this many runs all failed fails. Default 3. */
  failingRuns?: number;
  /** Ready jobs untouched this long mean no worker serves the queue. Default 300 s. */
  unservedSeconds?: number;
}

/** Dead-letter growth, schedules failing run after run, queues no worker serves. */
export async function operationsChecks(
  engine: Engine,
  options: OperationsCheckOptions = {},
): Promise<DoctorCheck[]> {
  return [
    await deadLettersCheck(engine, options.deadLetterWindowSeconds ?? 3_600),
    await failingSchedulesCheck(engine, options.failingRuns ?? 3),
    await unservedQueuesCheck(engine, options.unservedSeconds ?? 300),
  ];
}

async function deadLettersCheck(engine: Engine, windowSeconds: number): Promise<DoctorCheck> {
  const id = "operations.dead_letters";
  const rows = await engine.run<{ queue: string; recent: number; before: number }>("doctor_dead_letters", [
    windowSeconds,
  ]);
  const span = windowSeconds % 3600 === 0 ? `${windowSeconds / 3600} h` : `${windowSeconds} s`;
  const growing = rows.filter((r) => r.recent > 0);
  if (growing.length === 0) return pass(id, `no job died in the last ${span}`);
  const seen = growing
    .map((r) => `${r.queue}: ${r.recent} died in the last ${span} (${r.before} in the ${span} before)`)
    .join("; ");
  const rising = growing.some((r) => r.recent >= 10 && r.recent > 2 * r.before);
  const first = growing[0]?.queue ?? "<queue>";
  return problem(
    id,
    rising ? "fail" : "warn",
    seen,
    `read why they died (keel jobs list --queue ${first} --state dead), fix the cause, then keel queues retry-dead ${first}`,
  );
}

async function failingSchedulesCheck(engine: Engine, runs: number): Promise<DoctorCheck> {
  const id = "operations.failing_schedules";
  const rows = await engine.run<{ schedule: string; fire_time: Date; status: "dead" | "failing" | "ok" }>(
    "doctor_schedule_runs",
    [runs],
  );
  const bySchedule = new Map<string, string[]>();
  for (const r of rows) bySchedule.set(r.schedule, [...(bySchedule.get(r.schedule) ?? []), r.status]);
  const failing = [...bySchedule].filter(([, s]) => s.length >= runs && s.every((x) => x !== "ok"));
  const failingNames = new Set(failing.map(([name]) => name));
  const some = [...bySchedule].filter(([name, s]) => s[0] !== "ok" && !failingNames.has(name));
  if (failing.length === 0 && some.length === 0) return pass(id, "no schedule's latest run failed");
  const names = (list: [string, string[]][]) => list.map(([n]) => n).join(", ");
  const first = (failing[0] ?? some[0])?.[0] ?? "<schedule>";
  const fix = `see the runs and their errors (keel schedules runs ${first}), fix the target or the application, then keel schedules trigger ${first} to check`;
  if (failing.length > 0) {
    return problem(
      id,
      "fail",
      `the latest ${runs} runs of each of these schedules failed: ${names(failing)}`,
      fix,
    );
  }
  return problem(id, "warn", `the latest run failed: ${names(some)}`, fix);
}

async function unservedQueuesCheck(engine: Engine, seconds: number): Promise<DoctorCheck> {
  const id = "operations.unserved_queues";
  const rows = await engine.run<{
    queue: string;
    ready: number;
    oldest_ready_seconds: number;
    http_jobs: number;
  }>("doctor_unserved_queues", [seconds]);
  if (rows.length === 0) return pass(id, `every queue with ready jobs was served in the last ${seconds} s`);
  const seen = rows
    .map(
      (r) =>
        `${r.queue}: ${r.ready} ready, the oldest for ${Math.round(r.oldest_ready_seconds)} s, nothing claimed`,
    )
    .join("; ");
  const http = rows.some((r) => r.http_jobs > 0);
  return problem(
    id,
    "fail",
    seen,
    `${http ? "HTTP jobs are delivered by keel start in role all or worker: run one; " : ""}start a worker for ${rows.map((r) => r.queue).join(", ")} (createWorker({ queues: [...] }) with their handlers), or pause the queue (keel queues pause <name>) if it is retired`,
  );
}
