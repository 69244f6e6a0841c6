import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";
import { Availability, isKeelError } from "../src/index.js";
import { guardLeaks, testDatabaseUrl, waitFor } from "./helpers.js";

// The probe behind `watch` (decision 030): only silence or a connection failure marks Postgres
// down; a server that answers with an error of its own (a missing database) is reachable, so
// queries report that error themselves instead of a generic database_unavailable.

guardLeaks();

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function closedPort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

test("a database that does not exist answers: the probe does not mark Postgres down", async () => {
  const watch = new Availability({ connectionString: withDatabase(testDatabaseUrl(), "keel_no_such_db") });
  watch.start();
  try {
    await waitFor(() => watch.probes >= 2, 10_000, "two probes");
    assert.equal(watch.available, true);
    assert.equal(watch.outages, 0);
  } finally {
    await watch.stop();
  }
});

test("a refused connection marks Postgres down: guarded work fails at once with database_unavailable", async () => {
  const watch = new Availability({
    connectionString: `postgres://keel@127.0.0.1:${await closedPort()}/keel`,
  });
  watch.start();
  try {
    await waitFor(() => watch.probes >= 1, 10_000, "a probe");
    assert.equal(watch.available, false);
    const pending = new Promise(() => {});
    await assert.rejects(watch.guard(pending), (err: unknown) => isKeelError(err, "database_unavailable"));
  } finally {
    await watch.stop();
  }
});

test("a silent server marks Postgres down and rejects the work already waiting", async () => {
  const sockets: import("node:net").Socket[] = [];
  const silent = createServer((s) => sockets.push(s)).listen(0, "127.0.0.1");
  await new Promise((r) => silent.once("listening", r));
  const { port } = silent.address() as { port: number };
  const watch = new Availability({
    connectionString: `postgres://keel@127.0.0.1:${port}/keel`,
    timeoutMs: 300,
  });
  const waiting = watch.guard(new Promise(() => {}));
  watch.start();
  try {
    await assert.rejects(
      waiting,
      (err: unknown) =>
        isKeelError(err, "database_unavailable") && /no answer within 300 ms/.test(String(err)),
    );
    assert.equal(watch.outages, 1);
  } finally {
    await watch.stop();
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  }
});
