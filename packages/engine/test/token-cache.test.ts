/**
 * Verified API tokens are kept in memory so a request does not ask Postgres each time, and a
 * revocation still applies at once on every replica: it is announced on the schema's tokens
 * channel and every engine forgets what it kept. Two engines on one schema stand for two
 * replicas. Waits are on what each engine reports (connections made, notices heard), with the
 * cache's own lifetime (60 s) far beyond every wait, so only the notice can explain a change.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import pg from "pg";
import { Engine } from "../src/index.js";
import { deferred, guardLeaks, testDatabaseUrl, testEngine, waitFor } from "./helpers.js";

guardLeaks();

/** Two engines (replicas) on one fresh schema, and a publish token made on the first. */
async function replicas(options: { tokenCacheMs?: number } = {}) {
  const a = await testEngine(options);
  const b = await Engine.connect({ connectionString: testDatabaseUrl(), schema: a.schema, ...options });
  const { token, id } = await a.tokens.create({ name: "app", scopes: ["publish"] }, { by: "test" });
  return { a, b, token, id, [Symbol.asyncDispose]: () => b.close() };
}

/** Verifies once, then waits until the engine listens for revocations, and verifies again. */
async function kept(engine: Engine, token: string): Promise<void> {
  assert.ok(await engine.tokens.verify(token));
  await waitFor(() => engine.tokens.cacheState.listening, 10_000, "the tokens listener");
  assert.ok(await engine.tokens.verify(token));
  assert.equal(engine.tokens.cacheState.kept, 1);
}

test("a token verified once is answered from memory until a revocation on another replica", async () => {
  await using r = await replicas();
  await kept(r.b, r.token);
  const lookups = r.b.tokens.lookups;
  for (let i = 0; i < 20; i++) assert.equal((await r.b.tokens.verify(r.token))?.id, r.id);
  assert.equal(r.b.tokens.lookups, lookups, "no lookup in Postgres while the token is kept");

  await r.a.tokens.revoke(r.id, "test");
  await waitFor(() => r.b.tokens.cacheState.notices >= 1, 10_000, "the revocation notice on replica b");
  assert.equal(await r.b.tokens.verify(r.token), null);
  assert.equal(r.b.tokens.lookups, lookups + 1);
});

test("a lookup in flight when a revocation is announced keeps nothing", async () => {
  await using r = await replicas();
  await kept(r.b, r.token);
  const second = await r.a.tokens.create({ name: "second", scopes: ["publish"] }, { by: "test" });

  // Hold b's lookup of the second token after Postgres answered (live); revoke it meanwhile.
  const original = r.b.run.bind(r.b);
  const held = deferred();
  const gate = deferred();
  Object.assign(r.b, {
    run: async (...args: Parameters<Engine["run"]>) => {
      const rows = await original(...args);
      if (args[0] === "find_token") {
        held.resolve();
        await gate.promise;
      }
      return rows;
    },
  });
  const inFlight = r.b.tokens.verify(second.token);
  await held.promise;
  await r.a.tokens.revoke(second.id, "test");
  await waitFor(() => r.b.tokens.cacheState.notices >= 1, 10_000, "the revocation notice on replica b");
  gate.resolve();
  assert.equal((await inFlight)?.id, second.id, "begun before the revocation: it answers what it read");
  Object.assign(r.b, { run: original });
  assert.equal(r.b.tokens.cacheState.kept, 0, "the notice forgot the first token; the lookup kept nothing");
  assert.equal(await r.b.tokens.verify(second.token), null);
  assert.ok(await r.b.tokens.verify(r.token), "the first token, not revoked, is looked up again");
});

test("a lost LISTEN connection forgets what was kept: notices may have been missed", async () => {
  await using r = await replicas();
  await kept(r.b, r.token);
  const { connects } = r.b.tokens.cacheState;
  const admin = new pg.Client({ connectionString: testDatabaseUrl() });
  await admin.connect();
  try {
    const { rowCount } = await admin.query(
      "select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1",
      [`keel-listener:${r.b.schema}:tokens`.slice(0, 63)],
    );
    assert.equal(rowCount, 1);
    // Revoked while b may not be listening: b must not keep answering from memory.
    await r.a.tokens.revoke(r.id, "test");
  } finally {
    await admin.end();
  }
  await waitFor(
    () => r.b.tokens.cacheState.connects > connects && r.b.tokens.cacheState.listening,
    10_000,
    "the listener's reconnection",
  );
  const lookups = r.b.tokens.lookups;
  assert.equal(await r.b.tokens.verify(r.token), null);
  assert.equal(r.b.tokens.lookups, lookups + 1, "asked Postgres after the reconnection");
});

test("tokenCacheMs 0 keeps nothing and opens no connection", async () => {
  await using r = await replicas({ tokenCacheMs: 0 });
  for (let i = 0; i < 3; i++) assert.ok(await r.b.tokens.verify(r.token));
  assert.equal(r.b.tokens.lookups, 3);
  assert.deepEqual(r.b.tokens.cacheState, { listening: false, connects: 0, notices: 0, kept: 0 });
});

test("a kept token is looked up again after tokenCacheMs", async () => {
  await using r = await replicas({ tokenCacheMs: 200 });
  assert.ok(await r.b.tokens.verify(r.token));
  await waitFor(() => r.b.tokens.cacheState.listening, 10_000, "the tokens listener");
  const lookups = r.b.tokens.lookups;
  // Kept now; within a few lifetimes of 200 ms a verify must go to Postgres again.
  await waitFor(
    async () => (await r.b.tokens.verify(r.token)) && r.b.tokens.lookups >= lookups + 2,
    10_000,
    "a second lookup after the entry expired",
  );
});

test("a schema's notices do not reach another schema's engines", async () => {
  await using r = await replicas();
  await kept(r.b, r.token);
  await using other = await replicas();
  await kept(other.b, other.token);
  await r.a.tokens.revoke(r.id, "test");
  await waitFor(() => r.b.tokens.cacheState.notices >= 1, 10_000, "the notice on replica b");
  assert.equal(other.b.tokens.cacheState.notices, 0);
  assert.equal(other.b.tokens.cacheState.kept, 1);
});

test("the replica that revokes forgets before revoke() returns", async () => {
  await using r = await replicas();
  await kept(r.b, r.token);
  await r.b.tokens.revoke(r.id, "test");
  assert.equal(r.b.tokens.cacheState.kept, 0);
  assert.equal(await r.b.tokens.verify(r.token), null);
});
