import type { Engine } from "@keel/engine";
import { type DoctorCheck, pass, problem } from "./types.js";

/** What `doctor_server` reads. */
interface ServerRow {
  version_num: number;
  version: string;
  max_connections: number;
  reserved_connections: number;
  connections: number;
  autovacuum: boolean;
  track_counts: boolean;
  ssl: boolean;
  now: Date;
}

/** The Postgres server as the doctor saw it, shared with the configuration checks. */
export interface PostgresFacts {
  server: ServerRow;
  /** This process's clock minus the database's, in ms, and the read's uncertainty (half its round trip). */
  skewMs: number;
  uncertaintyMs: number;
  /** Live `keel start` processes by role, from their probe connections. */
  replicas: Record<string, number>;
}

export interface PostgresCheckOptions {
  /** Idle in a transaction for longer than this fails. Default 60 s. */
  idleInTransactionSeconds?: number;
  /** A transaction open for longer than this warns. Default 300 s. */
  longTransactionSeconds?: number;
}

// Connections one `keel start` opens: the engine's pool (10), the availability probe, the
// workers' LISTEN connection and the API's (token revocations, decision 062). Operator commands
// add 2 while they run.
const CONNECTIONS_PER_PROCESS = 13;
// Keel's tables written all the time: what autovacuum must keep up with.
const HOT_TABLES = [
  "jobs",
  "job_leases",
  "job_history",
  "job_finishes",
  "attempts",
  "schedule_runs",
  "events",
  "intake_rejections",
  "idempotency_keys",
  "rate_limits",
  "audit_log",
];
// The end of community support per major version (postgresql.org/support/versioning).
const END_OF_LIFE: Record<number, string> = {
  13: "2025-11-13",
  14: "2026-11-12",
  15: "2027-11-11",
  16: "2028-11-09",
  17: "2029-11-08",
  18: "2030-11-14",
};

/** Reads the server's settings, the clock and the live Keel processes (one round trip each). */
export async function readPostgresFacts(engine: Engine): Promise<PostgresFacts> {
  const before = Date.now();
  const [server] = await engine.run<ServerRow>("doctor_server", []);
  const after = Date.now();
  if (!server) throw new Error("doctor_server returned no row");
  const replicas: Record<string, number> = {};
  for (const r of await engine.run<{ role: string; processes: number }>("doctor_replicas", [])) {
    replicas[r.role] = r.processes;
  }
  return {
    server,
    skewMs: (before + after) / 2 - server.now.getTime(),
    uncertaintyMs: (after - before) / 2,
    replicas,
  };
}

/**
 * The Postgres checks: version, connections against the pools of every replica, autovacuum on
 * Keel's tables, dead tuples, sessions holding back vacuum, and clock skew with this process.
 */
export async function postgresChecks(
  engine: Engine,
  facts: PostgresFacts,
  self: number,
  options: PostgresCheckOptions = {},
): Promise<DoctorCheck[]> {
  const tables = (await engine.run<TableRow>("doctor_tables", [engine.schema])).filter((t) =>
    HOT_TABLES.includes(t.table),
  );
  const sessions = await engine.run<SessionRow>("doctor_sessions", [
    options.idleInTransactionSeconds ?? 60,
    options.longTransactionSeconds ?? 300,
  ]);
  return [
    versionCheck(facts.server),
    connectionsCheck(facts, self),
    autovacuumCheck(facts.server, tables, engine.schema),
    deadTuplesCheck(tables, engine.schema),
    sessionsCheck(sessions, options.idleInTransactionSeconds ?? 60),
    clockCheck(facts),
  ];
}

function versionCheck(server: ServerRow): DoctorCheck {
  const major = Math.floor(server.version_num / 10_000);
  const seen = `Postgres ${server.version}`;
  if (major < 13) {
    return problem(
      "postgres.version",
      "fail",
      `${seen}: Keel needs 13 or newer`,
      "upgrade Postgres to a supported major version (17 or newer)",
    );
  }
  const eol = END_OF_LIFE[major];
  if (eol && Date.parse(eol) < Date.now()) {
    return problem(
      "postgres.version",
      "warn",
      `${seen}: community support ended on ${eol}, no more security fixes`,
      "plan an upgrade to a supported major version (pg_upgrade, or your provider's major-version upgrade)",
    );
  }
  return pass("postgres.version", seen);
}

function connectionsCheck(facts: PostgresFacts, self: number): DoctorCheck {
  const { server, replicas } = facts;
  const usable = server.max_connections - server.reserved_connections;
  const live = Object.values(replicas).reduce((a, b) => a + b, 0);
  // Without a live process (the CLI before any start), the fleet is assumed to be one process.
  const processes = Math.max(live, self, 1);
  const roles = Object.entries(replicas)
    .map(([role, n]) => `${n} ${role}`)
    .join(", ");
  const needed = processes * CONNECTIONS_PER_PROCESS;
  const fleet =
    live > 0
      ? `${live} Keel process${live === 1 ? "" : "es"} live (${roles})`
      : "no Keel process live, one assumed";
  const seen = `max_connections ${server.max_connections} (${usable} for non-superusers), ${server.connections} open now; ${fleet}: up to ${needed} connections (${CONNECTIONS_PER_PROCESS} each)`;
  const fix = `raise max_connections (it needs a restart), put PgBouncer in transaction mode in front of Postgres for the applications, or run fewer Keel replicas; leave room for your applications' own pools`;
  if (needed > usable || server.connections >= usable * 0.9)
    return problem("postgres.connections", "fail", seen, fix);
  if (needed > usable * 0.5 || server.connections >= usable * 0.75) {
    return problem(
      "postgres.connections",
      "warn",
      `${seen}: little room left for the applications' pools`,
      fix,
    );
  }
  return pass("postgres.connections", seen);
}

interface TableRow {
  table: string;
  live: string;
  dead: string;
  vacuumed_at: Date | null;
  autovacuum_off: boolean;
}

function autovacuumCheck(server: ServerRow, tables: TableRow[], schema: string): DoctorCheck {
  const id = "postgres.autovacuum";
  if (!server.autovacuum || !server.track_counts) {
    const off = [!server.autovacuum && "autovacuum", !server.track_counts && "track_counts"]
      .filter(Boolean)
      .join(" and ");
    return problem(
      id,
      "fail",
      `${off} is off: Keel's tables, which delete rows all the time, are never vacuumed and bloat`,
      `ALTER SYSTEM SET ${off === "autovacuum" ? "autovacuum = on" : off === "track_counts" ? "track_counts = on" : "autovacuum = on; ALTER SYSTEM SET track_counts = on"}; SELECT pg_reload_conf();`,
    );
  }
  const off = tables.filter((t) => t.autovacuum_off).map((t) => t.table);
  if (off.length > 0) {
    return problem(
      id,
      "fail",
      `autovacuum is turned off for ${off.map((t) => `${schema}.${t}`).join(", ")}`,
      off.map((t) => `ALTER TABLE ${schema}.${t} RESET (autovacuum_enabled);`).join(" "),
    );
  }
  return pass(id, `autovacuum is on, and on for Keel's ${tables.length} hot tables`);
}

function deadTuplesCheck(tables: TableRow[], schema: string): DoctorCheck {
  const id = "postgres.dead_tuples";
  const bloated = tables
    .map((t) => ({ ...t, liveN: Number(t.live), deadN: Number(t.dead) }))
    .filter((t) => t.deadN > 10_000 && t.deadN > 0.2 * (t.liveN + t.deadN));
  if (bloated.length === 0) return pass(id, "no hot table has more than 20% dead rows");
  const worst = bloated.some((t) => t.deadN > 100_000 && t.deadN > 0.5 * (t.liveN + t.deadN));
  const seen = bloated
    .map(
      (t) =>
        `${schema}.${t.table}: ${t.deadN} dead of ${t.liveN + t.deadN} rows, last vacuumed ${t.vacuumed_at ? t.vacuumed_at.toISOString() : "never"}`,
    )
    .join("; ");
  return problem(
    id,
    worst ? "fail" : "warn",
    seen,
    `end what holds vacuum back (see postgres.sessions), then VACUUM (VERBOSE) ${bloated.map((t) => `${schema}.${t.table}`).join(", ")}; a table bloated for long needs VACUUM FULL or pg_repack in a quiet hour`,
  );
}

interface SessionRow {
  pid: number;
  application_name: string;
  state: string | null;
  transaction_seconds: number;
  state_seconds: number;
}

function sessionsCheck(sessions: SessionRow[], idleSeconds: number): DoctorCheck {
  const id = "postgres.sessions";
  if (sessions.length === 0)
    return pass(id, "no session holds a transaction open long enough to hold back vacuum");
  const idle = sessions.filter((s) => s.state?.startsWith("idle in transaction"));
  const seen = sessions
    .map(
      (s) =>
        `pid ${s.pid} (${s.application_name || "no application_name"}) ${s.state ?? "?"}, transaction open ${Math.round(s.transaction_seconds)} s`,
    )
    .join("; ");
  const pids = sessions.map((s) => s.pid).join(", ");
  return problem(
    id,
    idle.length > 0 ? "fail" : "warn",
    `${seen}: vacuum cannot remove rows deleted since they began`,
    `find the code that leaves the transaction open, end the sessions with SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid IN (${pids}); and set ALTER DATABASE … SET idle_in_transaction_session_timeout = '${Math.max(idleSeconds, 60)}s'`,
  );
}

function clockCheck(facts: PostgresFacts): DoctorCheck {
  const id = "postgres.clock_skew";
  const skew = Math.abs(facts.skewMs) - facts.uncertaintyMs;
  const seen = `this process's clock is ${Math.abs(Math.round(facts.skewMs))} ms ${facts.skewMs >= 0 ? "ahead of" : "behind"} the database's (±${Math.round(facts.uncertaintyMs)} ms)`;
  const fix = "run NTP (chrony or systemd-timesyncd) on every Keel host and on the database host";
  // Jobs and schedules are timed by the database's clock; webhook signatures (made and checked)
  // by this process's: a gap moves one against the other.
  const why =
    "jobs and schedules run by the database's clock, webhook signatures are made and checked by this process's";
  if (skew > 10_000) return problem(id, "fail", `${seen}: ${why}`, fix);
  if (skew > 1_000) return problem(id, "warn", `${seen}: ${why}`, fix);
  return pass(id, seen);
}
