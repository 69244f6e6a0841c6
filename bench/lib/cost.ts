import pg from "pg";
import { machineCpu } from "./keel-process.js";

/**
 * What a measured run cost, for the profile evidence BENCHMARKS.md cites: WAL Postgres wrote
 * (the whole cluster: the bench runs alone), CPU of this bench process (the workers of
 * in-process contenders), and CPU of everything else on the machine (Postgres backends, Redis,
 * child processes).
 */
export interface RunCost {
  walBytes: number;
  selfCpuMs: number;
  otherCpuMs: number;
}

const JIFFY_MS = 10;

async function walPosition(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ b: string }>(
      "select (pg_current_wal_lsn() - '0/0'::pg_lsn)::text as b",
    );
    return Number(rows[0]?.b);
  } finally {
    await client.end();
  }
}

/** Starts measuring; the returned function stops and reports. */
export async function meterCost(databaseUrl: string): Promise<() => Promise<RunCost>> {
  const wal = await walPosition(databaseUrl);
  const self = process.cpuUsage();
  const machine = machineCpu();
  return async () => {
    const machineNow = machineCpu();
    const used = process.cpuUsage(self);
    const selfCpuMs = (used.user + used.system) / 1000;
    const machineMs = (machineNow.busy - machine.busy) * JIFFY_MS;
    return {
      walBytes: (await walPosition(databaseUrl)) - wal,
      selfCpuMs,
      otherCpuMs: Math.max(0, machineMs - selfCpuMs),
    };
  };
}

/** "1,234 B WAL, 40 µs here + 60 µs elsewhere per job": a note for a result row. */
export function costNote(cost: RunCost, n: number, unit = "job"): string {
  const per = (x: number) => Math.round(x / n).toLocaleString("en-US");
  return `per ${unit}: ${per(cost.walBytes)} B of WAL, CPU ${per(cost.selfCpuMs * 1000)} µs in the bench process + ${per(cost.otherCpuMs * 1000)} µs elsewhere (Postgres, Redis)`;
}
