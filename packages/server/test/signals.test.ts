/**
 * Every documented way to start Keel delivers SIGTERM to Keel itself (decision 037): a platform
 * that stops `npm start` (Docker `CMD npm start`, Render, Railway, systemd) gets a graceful drain,
 * not an orphaned Keel that is SIGKILLed later with its jobs still leased.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { Engine } from "@keel/engine";
import { freshSchema, testDatabaseUrl, waitFor } from "../../engine/test/helpers.js";
import { startEndpoint } from "./fixtures/delivery-servers.js";
import { guardServerLeaks, type KeelProcess, logLine, spawnLauncher } from "./helpers.js";

guardServerLeaks();

/** Pids of Keel processes (whatever launched them) running on this schema. */
function keelPids(schema: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
      if (!argv.some((a) => /\/keel(\.js)?$/.test(a)) || !argv.includes("start")) continue;
      const env = readFileSync(`/proc/${name}/environ`, "utf8").split("\0");
      if (env.includes(`KEEL_SCHEMA=${schema}`)) pids.push(Number(name));
    } catch {}
  }
  return pids;
}

function exited(launcher: KeelProcess): boolean {
  return launcher.child.exitCode !== null || launcher.child.signalCode !== null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts Keel with `command`, holds one HTTP delivery in flight, sends SIGTERM to the top-level
 * process and checks that Keel itself drained: it asked to shut down, finished the delivery,
 * logged "keel stopped" and exited, leaving no Keel process behind.
 */
async function drainsOnSigterm(
  command: string,
  argv: string[],
  expectLauncherWaits: boolean,
  /** SIGTERM to the launcher's whole process group (systemd's default, GNU timeout). */
  group = false,
): Promise<{ launcher: KeelProcess; schema: string }> {
  const schema = freshSchema("signals");
  let release: (() => void) | undefined;
  const endpoint = await startEndpoint((_req, res) => {
    release = () => res.writeHead(200).end("done");
  });
  const launcher = spawnLauncher(
    command,
    argv,
    { DATABASE_URL: testDatabaseUrl(), KEEL_SCHEMA: schema, PORT: "0" },
    undefined,
    { detached: group },
  );
  let pids: number[] = [];
  try {
    await waitFor(() => logLine(launcher, "keel started") ?? exited(launcher), 60_000, "keel started");
    const port = logLine(launcher, "keel started")?.port as number;
    assert.ok(port, `keel did not start: ${launcher.other.join("\n")}`);
    pids = keelPids(schema);
    assert.equal(pids.length, 1, "one Keel process");
    const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
    assert.equal(ready.status, 200);
    const engine = await Engine.connect({ connectionString: testDatabaseUrl(), schema });
    try {
      const { id } = await engine.enqueue({ queue: "slow", target: { url: `${endpoint.origin}/slow` } });
      await waitFor(() => release, 30_000, "the delivery to arrive");
      if (group) process.kill(-(launcher.child.pid as number), "SIGTERM");
      else launcher.child.kill("SIGTERM");
      await waitFor(
        // npm without exec exits at once, leaving Keel unaware; npx too, but then Keel notices.
        () => logLine(launcher, "shutdown requested") ?? (expectLauncherWaits && exited(launcher)),
        30_000,
        "Keel to hear of the SIGTERM, or npm to exit",
      );
      assert.ok(logLine(launcher, "shutdown requested"), "Keel was asked to shut down");
      if (group) {
        // npm exits too; Keel's parent watcher must see that mid-drain and not cut the drain short.
        await waitFor(
          () =>
            logLine(launcher, "the launcher exited; the drain goes on") ??
            // The watcher saw npx gone before Keel read its own SIGTERM: the same one request.
            logLine(launcher, "signal heard while draining; the drain goes on") ??
            logLine(launcher, "second signal: exiting without waiting"),
          30_000,
          "Keel to notice that npx is gone",
        );
      }
      (release as () => void)();
      const exit = await launcher.exited;
      if (expectLauncherWaits) {
        assert.deepEqual(exit, { code: 0, signal: null }, "npm waited for Keel's clean exit");
        assert.equal(alive(pids[0] as number), false, "Keel exited before its launcher");
      }
      await waitFor(() => !alive(pids[0] as number), 30_000, "Keel to exit");
      assert.ok(logLine(launcher, "keel stopped"), "Keel drained and stopped");
      assert.equal(logLine(launcher, "second signal: exiting without waiting"), undefined, "no forced exit");
      assert.equal((await engine.getJob(id)).state, "succeeded", "the in-flight delivery finished");
      assert.deepEqual(keelPids(schema), [], "no Keel process left");
    } finally {
      await engine.close();
    }
  } finally {
    // Only after a failed test: no orphaned Keel left running.
    for (const pid of new Set([...pids, ...keelPids(schema)])) if (alive(pid)) process.kill(pid, "SIGKILL");
    await endpoint.close();
  }
  return { launcher, schema };
}

test("npm start: SIGTERM to npm reaches Keel, which drains and exits before npm does", async () => {
  await drainsOnSigterm("npm", ["start"], true);
});

test("npx keel start: Keel warns that npx passes no signal on, and drains once npx is stopped", async () => {
  const { launcher } = await drainsOnSigterm("npx", ["--no-install", "keel", "start"], false);
  assert.ok(
    launcher.lines.some((l) => String(l.msg).startsWith("started through npx")),
    "the warning about npx",
  );
});

test("npx keel start, SIGTERM to its process group: npm exits at once, Keel keeps draining to a clean stop", async () => {
  // Keel hears the SIGTERM itself; npx going away afterwards is no second signal.
  await drainsOnSigterm("npx", ["--no-install", "keel", "start"], false, true);
});

test("npx keel runs the repository's keel command, never a package from the registry", async () => {
  const run = spawnLauncher("npx", ["--no-install", "keel", "--version"], {});
  const { code } = await run.exited;
  assert.equal(code, 0, run.other.join("\n"));
  assert.ok(run.other.includes("0.1.0"), run.other.join("\n"));
});
