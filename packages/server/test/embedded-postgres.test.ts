import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { createPool, isKeelError } from "@keel/engine";
import { waitFor } from "../../engine/test/helpers.js";
import { startEmbeddedPostgres } from "../src/embedded/postgres.js";
import { guardServerLeaks, postgresPidsFor, tempDir } from "./helpers.js";

guardServerLeaks();

async function query<T extends Record<string, unknown>>(
  connectionString: string,
  text: string,
): Promise<T[]> {
  const pool = createPool({ connectionString, max: 1 });
  try {
    return (await pool.query<T>(text)).rows;
  } finally {
    await pool.end();
  }
}

/** A postmaster.pid as Postgres writes it, naming `pid`. */
function writePostmasterPid(pgDir: string, pid: number): void {
  writeFileSync(
    join(pgDir, "postmaster.pid"),
    `${pid}\n${pgDir}\n1700000000\n5432\n\n127.0.0.1\n  1234  5678\nready\n`,
  );
}

test("creates a cluster and a keel database, keeps data across restarts, leaves no process behind", async () => {
  const dataDir = tempDir("pg");
  const pgDir = join(dataDir, "pg");
  const first = await startEmbeddedPostgres({ dataDir });
  assert.equal(first.created, true);
  assert.match(first.connectionString, /^postgres:\/\/postgres:[0-9a-f]+@127\.0\.0\.1:\d+\/keel$/);
  await query(first.connectionString, "create table kept (v text); insert into kept values ('still here')");
  assert.equal(postgresPidsFor(pgDir).length > 0, true);
  await first.stop();
  await first.stop(); // twice is fine
  assert.deepEqual(postgresPidsFor(pgDir), [], "no Postgres process left after stop()");
  assert.equal(existsSync(join(pgDir, "postmaster.pid")), false, "clean shutdown");
  assert.equal(existsSync(join(dataDir, "keel.pid")), false, "data dir lock released");

  const second = await startEmbeddedPostgres({ dataDir });
  try {
    assert.equal(second.created, false);
    const rows = await query<{ v: string }>(second.connectionString, "select v from kept");
    assert.deepEqual(rows, [{ v: "still here" }]);
  } finally {
    await second.stop();
  }
});

test("recovers from stale postmaster.pid files: a dead pid, and a live pid that is not Postgres", async () => {
  const dataDir = tempDir("stale");
  const pgDir = join(dataDir, "pg");
  await (await startEmbeddedPostgres({ dataDir })).stop();

  // As left by a Postgres killed with SIGKILL (OOM killer, power loss): the pid is gone.
  const dead = spawnSync(process.execPath, ["-e", ""]).pid as number;
  writePostmasterPid(pgDir, dead);
  const afterDead = await startEmbeddedPostgres({ dataDir });
  assert.deepEqual(await query(afterDead.connectionString, "select 1 as ok"), [{ ok: 1 }]);
  await afterDead.stop();

  // After a reboot or a container restart the old pid may belong to something else; when
  // that process runs as Postgres's own OS user, Postgres alone refuses to start.
  const other = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  try {
    writePostmasterPid(pgDir, other.pid as number);
    const afterReuse = await startEmbeddedPostgres({ dataDir });
    await afterReuse.stop();
    assert.equal(other.exitCode, null, "the unrelated process was left alone");
  } finally {
    other.kill("SIGKILL");
  }
});

test("refuses a second start on a data dir that is in use", async () => {
  const dataDir = tempDir("busy");
  const running = await startEmbeddedPostgres({ dataDir });
  try {
    await assert.rejects(startEmbeddedPostgres({ dataDir }), (err) => {
      assert.ok(isKeelError(err, "data_dir_in_use"));
      assert.match(err.message, /\(pid \d+\) is running the embedded Postgres in .*busy/);
      return true;
    });
  } finally {
    await running.stop();
  }
});

test("a process that exits without calling stop() still takes its Postgres down", async () => {
  const dataDir = tempDir("exit");
  const script = `
    import { startEmbeddedPostgres } from ${JSON.stringify(new URL("../src/embedded/postgres.ts", import.meta.url).pathname)};
    await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)} });
    process.exit(0);
  `;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    stdio: "inherit",
  });
  const code = await new Promise((resolve) => child.on("exit", resolve));
  assert.equal(code, 0);
  assert.equal(existsSync(join(dataDir, "pg", "PG_VERSION")), true, "the cluster was created");
  await waitFor(() => postgresPidsFor(join(dataDir, "pg")).length === 0, 10_000, "Postgres to shut down");
});

test("as root, a parent directory the postgres user cannot enter is reported with the fix", {
  skip: process.getuid?.() !== 0 && "only meaningful as root",
}, async () => {
  const parent = tempDir("private");
  chmodSync(parent, 0o700);
  await assert.rejects(startEmbeddedPostgres({ dataDir: join(parent, "keel") }), (err) => {
    assert.ok(isKeelError(err, "embedded_postgres_failed"));
    assert.match(err.message, new RegExp(`cannot enter ${parent}\\. Run \`chmod o\\+x ${parent}\``));
    return true;
  });
  assert.equal(existsSync(join(parent, "keel", "keel.pid")), false, "the lock is released");
});
