import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import S3rver from "@20minutes/s3rver";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { isKeelError } from "@keel/engine";
import { testDatabaseUrl, testEngine } from "../../engine/test/helpers.js";
import { runDrill } from "../src/backups/drill.js";
import { backupNow } from "../src/backups/dump.js";
import { listBackups } from "../src/backups/records.js";
import { countTables, restoreBackup } from "../src/backups/restore.js";
import { backupStore } from "../src/backups/storage.js";
import { backupsSchema } from "../src/config/backups.js";
import { appDatabase, contentChecksum, freshDatabase, urlOf } from "./fixtures/backup-databases.js";
import { closedPort, tempDir } from "./helpers.js";

// The S3 target against a real S3-compatible server (s3rver, in this process, on a free port),
// through the same code path as a local directory (decision 047).

const BUCKET = "keel-backups";
// s3rver's fixed credentials; Keel reads them from the variables the config names.
const env = { S3_KEY: "S3RVER", S3_SECRET: "S3RVER", APP_DATABASE_URL: "" };
const s3Dir = tempDir("s3rver");
let server: S3rver;
let endpoint: string;

before(async () => {
  server = new S3rver({
    port: 0,
    address: "127.0.0.1",
    silent: true,
    directory: s3Dir,
    configureBuckets: [{ name: BUCKET }],
  });
  const address = (await server.run()) as AddressInfo;
  endpoint = `http://127.0.0.1:${address.port}`;
});
after(() => server.close());

const s3Config = (extra: Record<string, unknown> = {}) =>
  backupsSchema.parse({
    what: { app: "${APP_DATABASE_URL}" },
    to: {
      s3: {
        bucket: BUCKET,
        prefix: "nightly/",
        region: "eu-west-1",
        endpoint,
        forcePathStyle: true,
        accessKeyId: "${S3_KEY}",
        secretAccessKey: "${S3_SECRET}",
      },
    },
    ...extra,
  });

test("backup to S3 → list → restore into a fresh database → same rows; a drill from S3 passes", async () => {
  const engine = await testEngine();
  const app = await appDatabase();
  env.APP_DATABASE_URL = urlOf(app);
  const config = s3Config({ keep: { count: 1 } });
  const keel = { connectionString: testDatabaseUrl(), schema: engine.schema };

  const backup = await backupNow(engine, config, { name: "app", url: env.APP_DATABASE_URL }, env);
  assert.equal(backup.status, "succeeded");
  assert.match(backup.path ?? "", new RegExp(`^s3://${BUCKET}/nightly/app-${backup.id}-.*\\.dump$`));
  // (s3rver refuses the SDK's signature on bucket listings, so objects are looked up one by one.)
  const store = backupStore(config, env);
  const exists = async (location: string | null) => {
    const body = await store.get(location as string);
    body?.destroy();
    return body !== undefined;
  };
  assert.equal(await exists(backup.path), true);

  const copy = await freshDatabase("bk_s3_copy");
  await restoreBackup(engine, backup, urlOf(copy), { config, env });
  assert.deepEqual(await countTables(engine, urlOf(copy)), backup.tables);
  assert.equal(await contentChecksum(copy), await contentChecksum(app));

  const drill = await runDrill(engine, config, env, keel, "app");
  assert.equal(drill.backupId, backup.id);
  assert.equal(drill.rows, 165);

  // keep.count 1: the next backup deletes the first from the bucket.
  const second = await backupNow(engine, config, { name: "app", url: env.APP_DATABASE_URL }, env);
  assert.equal(await exists(second.path), true);
  assert.equal(await exists(backup.path), false);
  assert.deepEqual(
    (await listBackups(engine)).map((b) => b.id),
    [second.id],
  );

  // The object changed in the bucket: refused before pg_restore sees it, the drill fails.
  const client = new S3Client({
    region: "eu-west-1",
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  });
  const key = (second.path as string).slice(`s3://${BUCKET}/`.length);
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: randomBytes(4096) }));
  client.destroy();
  await assert.rejects(
    restoreBackup(engine, second, urlOf(await freshDatabase("bk_s3_bad")), { config, env }),
    (err) => {
      assert.ok(isKeelError(err, "backup_corrupt"), String(err));
      assert.match(err.message, /SHA-256/);
      return true;
    },
  );
  await assert.rejects(runDrill(engine, config, env, keel, "app"), (err) => isKeelError(err, "drill_failed"));

  // No credential in any row.
  const rows = JSON.stringify(await listBackups(engine));
  assert.equal(rows.includes("S3RVER"), false);
});

test("a bucket that cannot be reached fails the backup, recorded without a location", async () => {
  const engine = await testEngine();
  const app = await appDatabase();
  const unreachable = backupsSchema.parse({
    what: { app: "${APP_DATABASE_URL}" },
    to: {
      s3: {
        bucket: BUCKET,
        endpoint: `http://127.0.0.1:${await closedPort()}`,
        forcePathStyle: true,
        accessKeyId: "${S3_KEY}",
        secretAccessKey: "${S3_SECRET}",
      },
    },
  });
  await assert.rejects(backupNow(engine, unreachable, { name: "app", url: urlOf(app) }, env), (err) => {
    assert.ok(isKeelError(err, "backup_failed"), String(err));
    return true;
  });
  const [row] = await listBackups(engine);
  assert.equal(row?.status, "failed");
  assert.equal(row?.path, null);
});

test("an unset credential variable fails the backup naming the variable, not a value", async () => {
  const engine = await testEngine();
  const app = await appDatabase();
  const config = s3Config();
  await assert.rejects(
    backupNow(engine, config, { name: "app", url: urlOf(app) }, { S3_KEY: "S3RVER" }),
    (err) => {
      assert.ok(isKeelError(err, "backup_failed"), String(err));
      assert.match(err.message, /S3_SECRET is not set.*backups\.to\.s3\.secretAccessKey/);
      assert.equal(err.message.includes("S3RVER"), false);
      return true;
    },
  );
});

test("config: exactly one of dir and to, credentials only as ${VARIABLE}s", () => {
  const base = { what: { keel: true } };
  assert.equal(backupsSchema.safeParse({ ...base, dir: "/b" }).success, true);
  assert.equal(backupsSchema.safeParse({ ...base, to: { dir: "/b" } }).success, true);
  assert.equal(backupsSchema.safeParse(base).success, false);
  assert.equal(backupsSchema.safeParse({ ...base, dir: "/b", to: { dir: "/c" } }).success, false);
  assert.equal(backupsSchema.safeParse({ ...base, to: { dir: "/b", s3: { bucket: "x" } } }).success, false);
  const literal = backupsSchema.safeParse({
    ...base,
    to: { s3: { bucket: "x", accessKeyId: "AKIAEXAMPLE", secretAccessKey: "${S}" } },
  });
  assert.equal(literal.success, false);
  assert.match(JSON.stringify(literal.error?.issues), /must be a \$\{VARIABLE\}/);
});
