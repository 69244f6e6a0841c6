/**
 * The Idempotency-Key middleware on Express, Fastify and a Fetch app, with the Postgres store,
 * the Redis store and Postgres with a Redis cache: every side effect is a row in a real table.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { Engine, isKeelError } from "@keel/engine";
import { Redis } from "ioredis";
import { freshSchema, onCleanup, testDatabaseUrl, waitFor } from "../../engine/test/helpers.js";
import { closedPort } from "../../server/test/helpers.js";
import {
  type IdempotencyOptions,
  type IdempotencyOutcome,
  type IdempotencyStore,
  postgresIdempotencyStore,
  redisIdempotencyStore,
} from "../src/index.js";
import { guardFileLeaks } from "./fixtures/client-servers.js";
import { FRAMEWORKS, type Framework, idemApp, NOT_UTF8 } from "./fixtures/idem-apps.js";

guardFileLeaks();

const REDIS_URL = process.env.KEEL_TEST_REDIS_URL;
const noRedis = REDIS_URL ? false : "KEEL_TEST_REDIS_URL is not set";
const engine = await Engine.connect({
  migrate: true,
  connectionString: testDatabaseUrl(),
  schema: freshSchema("idem"),
  poolSize: 20,
});
onCleanup(() => engine.close());
await engine.pool.query(
  `create table "${engine.schema}".side_effects (id serial primary key, route text, body jsonb)`,
);
const redis = REDIS_URL ? new Redis(REDIS_URL) : undefined;
onCleanup(() => redis?.quit());
const prefix = `keel:test:${process.pid}:${randomBytes(4).toString("hex")}:`;
onCleanup(async () => {
  if (redis) for (const key of await redis.keys(`${prefix}*`)) await redis.del(key);
});

type StoreName = "postgres" | "redis" | "postgres+redis";
const STORES: StoreName[] = ["postgres", "redis", "postgres+redis"];

function store(name: StoreName): IdempotencyStore {
  if (name === "postgres") return postgresIdempotencyStore({ engine });
  if (!redis) throw new Error("no Redis");
  if (name === "redis") return redisIdempotencyStore({ redis, prefix });
  return postgresIdempotencyStore({ engine, cache: { redis, prefix } });
}

/** Rows written by the routes: the side effects, optionally of one route. */
async function effects(route?: string): Promise<number> {
  const { rows } = await engine.pool.query<{ n: number }>(
    `select count(*)::int as n from "${engine.schema}".side_effects where $1::text is null or route = $1`,
    [route ?? null],
  );
  return rows[0]?.n ?? 0;
}

async function app(framework: Framework, options: Partial<IdempotencyOptions> & { store: IdempotencyStore }) {
  return idemApp(framework, options, async (route, body) => {
    const { rows } = await engine.pool.query<{ id: number }>(
      `insert into "${engine.schema}".side_effects (route, body) values ($1, $2) returning id`,
      [route, JSON.stringify(body ?? null)],
    );
    return rows[0]?.id as number;
  });
}

const post = (url: string, body: unknown, key: string | undefined, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { "idempotency-key": key } : {}), ...headers },
    body: JSON.stringify(body),
  });

for (const storeName of STORES) {
  for (const framework of FRAMEWORKS) {
    const skip = storeName === "postgres" ? false : noRedis;
    test(`${framework} + ${storeName}: 50 concurrent identical POSTs with one key make one side effect`, {
      skip,
    }, async () => {
      const outcomes: IdempotencyOutcome[] = [];
      const url = await app(framework, { store: store(storeName), onOutcome: (o) => outcomes.push(o) });
      const key = `order-${framework}-${storeName}`;
      const body = { sku: "A-1", quantity: 2 };
      const before = await effects();
      const answers = await Promise.all(
        Array.from({ length: 50 }, async () => {
          const res = await post(`${url}/orders`, body, key);
          return {
            status: res.status,
            replayed: res.headers.get("idempotent-replayed"),
            body: await res.json(),
          };
        }),
      );
      assert.equal((await effects()) - before, 1, "exactly one side effect");
      const first = answers.filter((a) => a.status === 201 && a.replayed === null);
      assert.equal(first.length, 1, "one request ran");
      for (const a of answers) {
        if (a.status === 201) assert.deepEqual(a.body, first[0]?.body, "a replay is the first answer");
        else {
          assert.equal(a.status, 409);
          assert.equal((a.body as { error: { code: string } }).error.code, "idempotency_in_flight");
        }
      }
      assert.equal(outcomes.filter((o) => o === "started").length, 1);

      // After completion every retry is a replay of status, headers and body.
      const again = await post(`${url}/orders`, { quantity: 2, sku: "A-1" }, key);
      assert.equal(again.status, 201, "key order in a JSON body is not meaning");
      assert.equal(again.headers.get("idempotent-replayed"), "true");
      assert.equal(
        again.headers.get("x-order"),
        String((first[0]?.body as { order?: number } | undefined)?.order),
      );
      assert.match(again.headers.get("content-type") ?? "", /^application\/json/);
      assert.deepEqual(await again.json(), first[0]?.body);

      const other = await post(`${url}/orders`, { sku: "B-2", quantity: 2 }, key);
      assert.equal(other.status, 422);
      assert.equal(
        ((await other.json()) as { error: { code: string } }).error.code,
        "idempotency_key_reused",
      );
      assert.equal((await effects()) - before, 1, "neither the replay nor the 422 ran anything");
    });
  }
}

test("a missing key is refused with 400 where required; other methods and optional keys pass", async () => {
  for (const framework of FRAMEWORKS) {
    const url = await app(framework, { store: store("postgres") });
    const before = await effects();
    const missing = await post(`${url}/orders`, { a: 1 }, undefined);
    assert.equal(missing.status, 400, framework);
    const answer = (await missing.json()) as { error: { code: string; message: string } };
    assert.equal(answer.error.code, "idempotency_key_required");
    assert.match(answer.error.message, /Idempotency-Key/);
    const long = await post(`${url}/orders`, { a: 1 }, "k".repeat(256));
    assert.equal(long.status, 400);
    assert.equal(((await long.json()) as { error: { code: string } }).error.code, "invalid_argument");
    assert.equal((await effects()) - before, 0);
    assert.equal((await fetch(`${url}/orders`)).status, 200, `${framework}: GET is not covered`);
  }
  const optional = await app("express", { store: store("postgres"), required: false });
  assert.equal((await post(`${optional}/orders`, { a: 1 }, undefined)).status, 201);
  assert.equal(
    (await post(`${optional}/orders`, { a: 1 }, undefined)).status,
    201,
    "no key: runs every time",
  );
});

test("the same key on another path is another request (422); another client's key is its own", async () => {
  const url = await app("fastify", { store: store("postgres") });
  const before = await effects();
  assert.equal(
    (await post(`${url}/orders`, { a: 1 }, "shared", { authorization: "Bearer alice" })).status,
    201,
  );
  assert.equal(
    (await post(`${url}/fail`, { a: 1 }, "shared", { authorization: "Bearer alice" })).status,
    422,
  );
  assert.equal(
    (await post(`${url}/orders`, { a: 1 }, "shared", { authorization: "Bearer bob" })).status,
    201,
  );
  assert.equal((await effects()) - before, 2, "alice's and bob's requests each ran once");
});

for (const storeName of STORES) {
  test(`${storeName}: 5xx answers and non-UTF-8 bodies are stored and replayed; a record expires`, {
    skip: storeName === "postgres" ? false : noRedis,
  }, async () => {
    const url = await app("express", { store: store(storeName) });
    const failed = await effects("fail");
    const failKey = `fail-${storeName}`;
    const first = await post(`${url}/fail`, { n: 1 }, failKey);
    assert.equal(first.status, 500);
    const replay = await post(`${url}/fail`, { n: 1 }, failKey);
    assert.equal(replay.status, 500, "Stripe's rule: the outcome once execution started, errors included");
    assert.equal(replay.headers.get("idempotent-replayed"), "true");
    assert.deepEqual(await replay.json(), await first.json());
    assert.equal((await effects("fail")) - failed, 1, "the replay ran nothing");

    const bytesKey = `bytes-${storeName}`;
    await post(`${url}/bytes`, {}, bytesKey);
    const bytes = await post(`${url}/bytes`, {}, bytesKey);
    assert.equal(bytes.headers.get("idempotent-replayed"), "true");
    assert.deepEqual(Buffer.from(await bytes.arrayBuffer()), NOT_UTF8);
    assert.equal(bytes.headers.get("x-keel-idempotency-body"), null, "the storage marker is never sent");

    // Expiry: the record is gone, so the key runs again.
    const key = `expiring-${storeName}`;
    const ran = await effects("orders");
    await post(`${url}/orders`, { n: 1 }, key);
    if (storeName === "redis") {
      const [record] = (await redis?.keys(`${prefix}r:*${key}`)) ?? [];
      await redis?.pexpire(record as string, 1);
      await waitFor(
        async () => (await redis?.exists(record as string)) === 0,
        2_000,
        "the Redis record to expire",
      );
    } else {
      // Back-date instead of waiting 24 h; the cache (if any) keeps completed responses only.
      await engine.pool.query(
        `update "${engine.schema}".idempotency_keys set expires_at = now() - interval '1 second' where key = $1`,
        [key],
      );
      if (storeName === "postgres+redis")
        for (const k of (await redis?.keys(`${prefix}c:*${key}`)) ?? []) await redis?.del(k);
    }
    const fresh = await post(`${url}/orders`, { n: 1 }, key);
    assert.equal(fresh.status, 201);
    assert.equal(fresh.headers.get("idempotent-replayed"), null);
    assert.equal((await effects("orders")) - ran, 2, "after expiry the key ran again");
  });
}

test("a handler that throws: Express and Fastify store their error answer; a Fetch handler's key waits for lockSeconds", async () => {
  for (const framework of ["express", "fastify"] as const) {
    const url = await app(framework, { store: store("postgres") });
    const first = await post(`${url}/boom`, { f: framework }, `boom-${framework}`);
    assert.equal(first.status, 500);
    const retry = await post(`${url}/boom`, { f: framework }, `boom-${framework}`);
    assert.equal(retry.status, 500);
    assert.equal(retry.headers.get("idempotent-replayed"), "true", framework);
  }
  const url = await app("fetch", { store: store("postgres"), lockSeconds: 30 });
  const before = await effects("boom");
  assert.equal((await post(`${url}/boom`, { f: "fetch" }, "boom-fetch")).status, 500);
  const locked = await post(`${url}/boom`, { f: "fetch" }, "boom-fetch");
  assert.equal(locked.status, 409, "as after a crash: in flight until the lock lapses");
  assert.equal(locked.headers.get("retry-after"), "1");
  await engine.pool.query(
    `update "${engine.schema}".idempotency_keys set locked_until = now() - interval '1 second' where key = 'boom-fetch'`,
  );
  assert.equal((await post(`${url}/boom`, { f: "fetch" }, "boom-fetch")).status, 500);
  assert.equal((await effects("boom")) - before, 2, "the retry took the abandoned key over and ran");
});

test("Redis store: an abandoned key is taken over once its lock (Redis clock) lapses", {
  skip: noRedis,
}, async () => {
  const s = store("redis");
  const input = {
    scope: "s",
    key: `lapse-${randomBytes(3).toString("hex")}`,
    fingerprint: "f",
    lockSeconds: 1,
  };
  assert.deepEqual(await s.begin(input), { state: "started" });
  assert.deepEqual(await s.begin(input), { state: "in_flight" });
  assert.deepEqual(await s.begin({ ...input, fingerprint: "other" }), { state: "mismatch" });
  await waitFor(async () => (await s.begin(input)).state === "started", 3_000, "the takeover");
  await s.finish({ ...input, response: { status: 201, headers: { a: "b" }, body: "ok" } });
  assert.deepEqual(await s.begin(input), {
    state: "completed",
    response: { status: 201, headers: { a: "b" }, body: "ok" },
  });
});

test("store down: Redis-only answers 503 and runs nothing; Postgres with a dead Redis cache stays correct", async () => {
  const dead = new Redis({
    port: await closedPort(),
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  dead.on("error", () => {});
  onCleanup(() => dead.disconnect());
  const before = await effects();
  const errors: unknown[] = [];
  const onlyRedis = await app("express", {
    store: redisIdempotencyStore({ redis: dead, prefix }),
    onError: (e) => errors.push(e),
  });
  const down = await post(`${onlyRedis}/orders`, { a: 1 }, "down-1");
  assert.equal(down.status, 503);
  assert.equal(((await down.json()) as { error: { code: string } }).error.code, "idempotency_unavailable");
  assert.equal((await effects()) - before, 0, "nothing ran");
  assert.ok(errors.length > 0);

  // Postgres decides; the cache's failures are reported, never a wrong answer.
  const cacheErrors: unknown[] = [];
  const tiered = postgresIdempotencyStore({
    engine,
    cache: { redis: dead, prefix, onError: (e) => cacheErrors.push(e) },
  });
  const url = await app("fastify", { store: tiered });
  const answers = await Promise.all(
    Array.from({ length: 50 }, () => post(`${url}/orders`, { a: 2 }, "dead-cache")),
  );
  assert.ok(answers.every((a) => a.status === 201 || a.status === 409));
  assert.equal(answers.filter((a) => a.status === 201 && !a.headers.has("idempotent-replayed")).length, 1);
  assert.equal((await effects()) - before, 1, "exactly one side effect without Redis");
  assert.ok(cacheErrors.length > 0, "the cache's failures were reported");
});

test("Postgres with a Redis cache: completed responses are cached; Postgres still decides what runs", {
  skip: noRedis,
}, async () => {
  const url = await app("fetch", { store: store("postgres+redis") });
  const first = await post(`${url}/orders`, { c: 1 }, "cached-1");
  assert.equal(first.status, 201);
  const body = await first.json();
  const [cacheKey] = (await redis?.keys(`${prefix}c:*cached-1`)) ?? [];
  assert.ok(cacheKey, "the completed response is in Redis");
  const record = JSON.parse((await redis?.get(cacheKey)) ?? "{}");
  assert.equal(record.response.status, 201);
  assert.deepEqual(JSON.parse(record.response.body), body);
  // Marked in the cache only, so the replay shows where it came from.
  record.response.headers["x-from"] = "cache";
  await redis?.set(cacheKey, JSON.stringify(record), "EX", 60);
  const replay = await post(`${url}/orders`, { c: 1 }, "cached-1");
  assert.equal(replay.headers.get("idempotent-replayed"), "true");
  assert.equal(replay.headers.get("x-from"), "cache", "answered from Redis without a Postgres round trip");
  assert.deepEqual(await replay.json(), body);
  // A new key is never decided by the cache: it reaches Postgres, whose row exists at once.
  const before = await effects("orders");
  await post(`${url}/orders`, { c: 2 }, "cached-2");
  const { rows } = await engine.pool.query(
    `select state from "${engine.schema}".idempotency_keys where key = 'cached-2'`,
  );
  assert.deepEqual(rows, [{ state: "completed" }]);
  assert.equal((await effects("orders")) - before, 1);
});

test("the Postgres store connects on first use from a connection string, checks the schema without migrating, and closes", async () => {
  const schema = freshSchema("idem_own");
  const input = { scope: "s", key: "k", fingerprint: "f" };
  // An application process never migrates by default: the schema is Keel's to migrate.
  const unmigrated = postgresIdempotencyStore({ connectionString: testDatabaseUrl(), schema });
  await assert.rejects(unmigrated.begin(input), (err: unknown) => isKeelError(err, "schema_outdated"));
  await unmigrated.close?.();
  const own = postgresIdempotencyStore({ connectionString: testDatabaseUrl(), schema, migrate: true });
  assert.deepEqual(await own.begin(input), { state: "started" });
  await own.finish({ ...input, response: { status: 200, headers: {}, body: "done" } });
  assert.deepEqual(await own.begin(input), {
    state: "completed",
    response: { status: 200, headers: {}, body: "done" },
  });
  await own.close?.();
  const unreachable = postgresIdempotencyStore({
    connectionString: `postgres://postgres@127.0.0.1:${await closedPort()}/x`,
  });
  await assert.rejects(unreachable.begin(input));
  await unreachable.close?.();
});
