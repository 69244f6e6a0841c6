/**
 * The Postgres the pressure scenario runs against. The storm holds up to 300 idle connections
 * beside the systems' own, and a server with `max_connections = 100` (Debian's default, the
 * machine's shared server) has room for about 60: pool exhaustion would be tested only up to
 * that. Raising it needs a restart of the shared server, which the bench must not do. So, by
 * default, when the given server has too little room, the scenario starts a cluster of its own
 * with the same Postgres (`initdb` and `pg_ctl` of the given server's major version, Debian's
 * layout), the given server's durability and memory settings, and room for the idle
 * connections; it is stopped and deleted when the scenario ends (decision 059, amendment).
 *
 * BENCH_PRESSURE_CLUSTER: `auto` (default: its own cluster only when needed), `own` (always),
 * `given` (never: the idle connections are then capped at the room there is, as before).
 */
import { execFile } from "node:child_process";
import { chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { freePort } from "./keel-process.js";

const run = promisify(execFile);

/** What the scenario connects to, and how it was chosen. */
export interface PressureCluster {
  databaseUrl: string;
  /** One line for the log and the rows' notes. */
  note: string;
  stop(): Promise<void>;
}

/** The given server's settings a cluster of its own copies (the rest stay at initdb's defaults). */
const COPIED = [
  "fsync",
  "synchronous_commit",
  "full_page_writes",
  "wal_sync_method",
  "autovacuum",
  "shared_buffers",
  "wal_buffers",
  "max_wal_size",
  "checkpoint_timeout",
] as const;

/** Connections the systems and the scenario's own sessions use beside the idle ones. */
const OWN_CONNECTIONS = 40;

/**
 * The server for the pressure scenario: `databaseUrl` itself when it has room for
 * `idleConnections` + `margin` + the systems' connections (or BENCH_PRESSURE_CLUSTER=given),
 * else a cluster started here.
 */
export async function pressureCluster(
  databaseUrl: string,
  idleConnections: number,
  margin: number,
  log: (m: string) => void,
): Promise<PressureCluster> {
  const mode = process.env.BENCH_PRESSURE_CLUSTER ?? "auto";
  if (!["auto", "own", "given"].includes(mode))
    throw new Error(`BENCH_PRESSURE_CLUSTER: "${mode}" is not auto, own or given`);
  const given = await describe(databaseUrl);
  const needed = idleConnections + margin + OWN_CONNECTIONS;
  const room = given.maxConnections - given.reserved;
  if (mode === "given" || (mode === "auto" && room >= needed))
    return {
      databaseUrl,
      note: `the given server (max_connections ${given.maxConnections})`,
      stop: async () => {},
    };
  const maxConnections = needed + given.reserved;
  log(
    `pressure: the given server has max_connections ${given.maxConnections}, room for ${room} of the ${needed} ` +
      `connections the storm needs; starting a Postgres ${given.major} cluster of its own with max_connections ${maxConnections}`,
  );
  return startCluster(given, maxConnections);
}

interface Described {
  major: number;
  maxConnections: number;
  reserved: number;
  settings: Record<string, string>;
}

/** Current values of the named server settings (`current_setting`), by name. */
export async function serverSettings(url: string, names: readonly string[]): Promise<Record<string, string>> {
  const c = new pg.Client({ connectionString: url, application_name: "pressure-cluster" });
  await c.connect();
  try {
    const { rows } = await c.query<{ name: string; value: string }>(
      "select name, current_setting(name) as value from pg_settings where name = any($1)",
      [names],
    );
    return Object.fromEntries(rows.map((r) => [r.name, r.value]));
  } finally {
    await c.end();
  }
}

async function describe(url: string): Promise<Described> {
  const all = await serverSettings(url, [
    ...COPIED,
    "server_version_num",
    "max_connections",
    "superuser_reserved_connections",
  ]);
  return {
    major: Math.floor(Number(all.server_version_num) / 10_000),
    maxConnections: Number(all.max_connections),
    reserved: Number(all.superuser_reserved_connections),
    settings: Object.fromEntries(
      COPIED.filter((k) => all[k] !== undefined).map((k) => [k, all[k] as string]),
    ),
  };
}

async function startCluster(given: Described, maxConnections: number): Promise<PressureCluster> {
  const bin = `/usr/lib/postgresql/${given.major}/bin`;
  const dir = mkdtempSync(join(tmpdir(), "keel-pressure-pg-"));
  const data = join(dir, "data");
  // Postgres refuses to run as root: then initdb, the server and pg_ctl run as `postgres`.
  const asRoot = process.getuid?.() === 0;
  const as = async (cmd: string, args: string[]) => {
    const [file, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args];
    try {
      return await run(file, argv, { timeout: 120_000 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(
        `pressure cluster: ${cmd} ${args[0] ?? ""} failed (${e.stderr?.trim() || e.message}). ` +
          `Install Postgres ${given.major}'s server binaries in ${bin}, or set BENCH_PRESSURE_CLUSTER=given`,
      );
    }
  };
  const port = await freePort();
  try {
    if (asRoot) {
      const uid = await as("id", ["-u"]);
      const gid = await as("id", ["-g"]);
      chownSync(dir, Number(uid.stdout.trim()), Number(gid.stdout.trim()));
    }
    await as(join(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
    const conf = {
      ...given.settings,
      max_connections: String(maxConnections),
      port: String(port),
      listen_addresses: "'127.0.0.1'",
      unix_socket_directories: `'${dir}'`,
    };
    const lines = Object.entries(conf).map(([k, v]) => `${k} = ${quoted(k, v)}`);
    writeFileSync(join(data, "postgresql.auto.conf"), `${lines.join("\n")}\n`);
    if (asRoot) await run("chown", ["postgres:postgres", join(data, "postgresql.auto.conf")]);
    await as(join(bin, "pg_ctl"), ["-D", data, "-l", join(dir, "server.log"), "-w", "-t", "60", "start"]);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;
  return {
    databaseUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    note: `a Postgres ${given.major} cluster of its own (max_connections ${maxConnections}, the given server's durability settings)`,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await as(join(bin, "pg_ctl"), ["-D", data, "-m", "fast", "-w", "stop"]).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A setting's value as postgresql.conf takes it: units and words quoted, numbers as they are. */
function quoted(name: string, value: string): string {
  if (name === "listen_addresses" || name === "unix_socket_directories") return value;
  return /^-?[0-9]+$/.test(value) ? value : `'${value}'`;
}
