import assert from "node:assert/strict";
import { connect } from "node:net";
import { describe, test } from "node:test";
import { isKeelError } from "@keel/engine";
import { parse } from "pg-connection-string";
import { freshSchema, testDatabaseUrl } from "../../engine/test/helpers.js";
import { databaseUrlForDriver } from "../src/config/database-url.js";
import { startKeel } from "../src/runtime/start.js";
import { get, guardServerLeaks, memoryLogger, runKeel } from "./helpers.js";

// Smaller defects of issue 12 (14): unknown commands exit non-zero, KEEL_HOST binds one
// interface, sslmode=require URLs do not make the driver print its warning.

guardServerLeaks();

describe("unknown commands", () => {
  test("keel <unknown>, keel <unknown> --help and keel <group> <unknown> --help exit 2 naming the command", async () => {
    for (const args of [
      ["frobnicate"],
      ["frobnicate", "--help"],
      ["jobs", "nosuch", "--help"],
      ["help", "nosuch"],
    ]) {
      const run = await runKeel(args, {});
      assert.equal(run.code, 2, args.join(" "));
      assert.match(run.stderr, /error: unknown command '(frobnicate|nosuch)'/, args.join(" "));
      assert.equal(run.stdout, "", args.join(" "));
    }
    const typo = await runKeel(["jbos", "list"], {});
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /Did you mean jobs\?/);
    // Help for real commands still exits 0.
    for (const args of [["--help"], ["jobs", "--help"], ["help", "jobs"]]) {
      const run = await runKeel(args, {});
      assert.equal(run.code, 0, args.join(" "));
      assert.match(run.stdout, /^Usage: keel/, args.join(" "));
    }
  });
});

/** Whether something accepts TCP connections at host:port. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

describe("KEEL_HOST", () => {
  const env = (extra: Record<string, string>) => ({
    DATABASE_URL: testDatabaseUrl(),
    KEEL_SCHEMA: freshSchema("host"),
    PORT: "0",
    ...extra,
  });

  test("binds the HTTP server to that interface only", async () => {
    // 127.0.0.2 is loopback too (Linux routes 127/8 to lo): reachable only when bound to it or to all.
    const { logger, lines } = memoryLogger();
    const keel = await startKeel({ env: env({ KEEL_HOST: "127.0.0.2" }), role: "api", logger });
    try {
      const port = keel.port as number;
      assert.equal((await get(`http://127.0.0.2:${port}/health/live`))?.status, 200);
      assert.equal(await accepts("127.0.0.1", port), false);
      assert.equal(lines.find((l) => l.msg === "keel started")?.host, "127.0.0.2");
    } finally {
      await keel.stop();
    }
  });

  test("a value that is no address or host name, or not this machine's, stops the start saying so", async () => {
    const { logger } = memoryLogger();
    await assert.rejects(startKeel({ env: env({ KEEL_HOST: "not a host!" }), logger }), (err) => {
      assert.ok(isKeelError(err, "invalid_config"), String(err));
      assert.match(err.message, /KEEL_HOST="not a host!" must be an address of this machine/);
      return true;
    });
    await assert.rejects(
      startKeel({ env: env({ KEEL_HOST: "203.0.113.77" }), role: "api", logger }),
      (err) => {
        assert.ok(isKeelError(err, "invalid_config"), String(err));
        assert.match(err.message, /KEEL_HOST="203\.0\.113\.77" is not an address of this machine/);
        return true;
      },
    );
  });
});

describe("sslmode in DATABASE_URL", () => {
  test("prefer, require and verify-ca become verify-full: the driver's own check for them, certificate and host", () => {
    for (const mode of ["prefer", "require", "verify-ca"]) {
      const url = databaseUrlForDriver(
        `postgres://app:p%40ss@db.example.com:5432/app?sslmode=${mode}&application_name=x`,
      );
      assert.equal(
        url,
        "postgres://app:p%40ss@db.example.com:5432/app?sslmode=verify-full&application_name=x",
      );
      // Nothing weakened: TLS on, certificates verified (no rejectUnauthorized: false).
      const config = parse(url);
      assert.deepEqual(config.ssl, {});
    }
    for (const url of [
      "postgres://app@db/app",
      "postgres://app@db/app?sslmode=disable",
      "postgres://app@db/app?sslmode=verify-full",
      "postgres://app@db/app?sslmode=no-verify",
      "postgres://app@db/app?uselibpqcompat=true&sslmode=require",
    ]) {
      assert.equal(databaseUrlForDriver(url), url);
    }
  });

  test("a CLI command with sslmode=require prints no driver warning, and still insists on TLS", async () => {
    const url = new URL(testDatabaseUrl());
    url.searchParams.set("sslmode", "require");
    // The direct URL beside it (decision 036) is spelled the same way.
    const run = await runKeel(["queues", "list"], {
      DATABASE_URL: url.toString(),
      DIRECT_URL: url.toString(),
    });
    assert.doesNotMatch(run.stderr, /SECURITY WARNING|sslmode/);
    // The test server has no TLS: a connection that insists on it fails (exit 5) instead of
    // falling back to plain text.
    assert.equal(run.code, 5, run.stderr);
    assert.match(run.stderr, /SSL/);
  });

  test("keel migrate goes through the direct URL, whose sslmode=require prints no driver warning either", async () => {
    const direct = new URL(testDatabaseUrl());
    direct.searchParams.set("sslmode", "require");
    const run = await runKeel(["migrate"], {
      DATABASE_URL: testDatabaseUrl(),
      DIRECT_URL: direct.toString(),
    });
    assert.doesNotMatch(run.stderr, /SECURITY WARNING|sslmode/);
    // Only the direct URL asks for TLS, which the test server lacks: the migration used it.
    assert.notEqual(run.code, 0);
    assert.match(run.stdout + run.stderr, /SSL/);
  });
});
