import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { after, test } from "node:test";
import { DEFAULT_CONNECT_TIMEOUT_MS, Engine, isKeelError } from "@keel/engine";
import { guardServerLeaks, runKeel } from "./helpers.js";

// A Postgres address that accepts connections and never answers (a black-holed host, a frozen
// server): Keel gives up after its connect timeout with the registry's database_unavailable,
// instead of after 10.7 s with a driver message.

guardServerLeaks();

const sockets = new Set<Socket>();
const blackhole = createServer((socket) => {
  sockets.add(socket);
  socket.on("error", () => {});
});
await new Promise<void>((resolve) => blackhole.listen(0, "127.0.0.1", resolve));
const port = (blackhole.address() as { port: number }).port;
const url = `postgres://keel:secret-password@127.0.0.1:${port}/keel`;
after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => blackhole.close(resolve));
});

test("Engine.connect to a silent Postgres fails with database_unavailable after the connect timeout", async () => {
  const started = performance.now();
  const err = await Engine.connect({ connectionString: url }).then(
    () => assert.fail("connected to a black hole"),
    (e: unknown) => e,
  );
  const elapsed = performance.now() - started;
  assert.ok(isKeelError(err, "database_unavailable"), String(err));
  assert.ok(!String((err as Error).message).includes("secret-password"));
  assert.ok(
    // Its own 5 s timer ended it (not sooner), and well before the old 10 s one could have:
    // 3.5 s of margin for a timer firing late on a loaded machine.
    elapsed >= DEFAULT_CONNECT_TIMEOUT_MS - 50 && elapsed < DEFAULT_CONNECT_TIMEOUT_MS + 3_500,
    `gave up after ${Math.round(elapsed)} ms (connect timeout ${DEFAULT_CONNECT_TIMEOUT_MS} ms)`,
  );
});

test("keel start against a silent Postgres exits 1 with code database_unavailable and no password", async () => {
  const run = await runKeel(["start"], { DATABASE_URL: url, PORT: "0" });
  assert.equal(run.code, 1);
  const fatal = run.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { level: string; code?: string; msg: string })
    .find((l) => l.level === "fatal");
  assert.equal(fatal?.code, "database_unavailable", run.stdout + run.stderr);
  // keel start watches Postgres: its probe gives up after 1 s, before the 5 s connect timeout.
  assert.match(fatal?.msg ?? "", /no answer within 1000 ms/);
  assert.ok(!(run.stdout + run.stderr).includes("secret-password"), "the password is never printed");
});

test("an operator command against a silent Postgres exits 5 (database unavailable) and never prints the password", async () => {
  const run = await runKeel(["queues", "list"], { DATABASE_URL: url });
  assert.equal(run.code, 5, run.stdout + run.stderr);
  assert.match(run.stderr, /not reachable/);
  assert.ok(!(run.stdout + run.stderr).includes("secret-password"));
});
