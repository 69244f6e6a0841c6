/**
 * A real Keel for the examples' tests: the `keel start` binary (built, as `npm start` runs it)
 * on the test Postgres in a fresh schema, with the example's config and environment. Stopped
 * with SIGTERM when the test file ends.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import { after } from "node:test";
import { freshSchema, testDatabaseUrl, waitFor } from "../packages/engine/test/helpers.js";
import { logLine, spawnLauncher } from "../packages/server/test/helpers.js";

const BIN = new URL("../packages/server/bin/keel.js", import.meta.url).pathname;

export interface TestKeel {
  url: string;
  adminToken: string;
  signingSecret: string;
  databaseUrl: string;
  schema: string;
}

/**
 * Starts Keel in `cwd` with `env` (the example's variables; KEEL_CONFIG to name its config file;
 * KEEL_SIGNING_SECRET generated unless given).
 *
 * @example
 * const keel = await startKeelFor(exampleDir, { KEEL_CONFIG: "keel.config.mjs", APP_URL: app.url });
 */
export async function startKeelFor(cwd: string, env: Record<string, string>): Promise<TestKeel> {
  const adminToken = `keel_${randomBytes(16).toString("hex")}`;
  const signingSecret = env.KEEL_SIGNING_SECRET ?? `whsec_${randomBytes(32).toString("base64")}`;
  const schema = freshSchema("example");
  const proc = spawnLauncher(
    process.execPath,
    [BIN, "start"],
    {
      DATABASE_URL: testDatabaseUrl(),
      KEEL_SCHEMA: schema,
      PORT: "0",
      KEEL_ADMIN_TOKEN: adminToken,
      ...env,
      KEEL_SIGNING_SECRET: signingSecret,
    },
    cwd,
  );
  after(async () => {
    proc.child.kill("SIGTERM");
    await proc.exited;
  });
  const started = await waitFor(
    () => logLine(proc, "keel started") ?? (proc.child.exitCode !== null || undefined),
    60_000,
    "keel started",
  );
  assert.notEqual(
    started,
    true,
    `Keel did not start: ${JSON.stringify(proc.lines.at(-1))} ${proc.other.join("\n")}`,
  );
  const port = (started as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    adminToken,
    signingSecret,
    databaseUrl: testDatabaseUrl(),
    schema,
  };
}

/**
 * An HTTP server on a free loopback port that hands every request to the app set later: Keel's
 * config needs the app's URL before the app can have its Keel client.
 */
export async function listenFirst(): Promise<{ url: string; serve: (handler: RequestListener) => void }> {
  let handler: RequestListener = (_req, res) => res.writeHead(503).end();
  const server = createServer((req, res) => handler(req, res));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    serve: (h) => {
      handler = h;
    },
  };
}
