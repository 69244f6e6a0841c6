import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { Readable } from "node:stream";
import { test } from "node:test";
import { isKeelError } from "@keel/engine";
import { testDatabaseUrl, testEngine } from "../../engine/test/helpers.js";
import { runDrill } from "../src/backups/drill.js";
import { backupNow } from "../src/backups/dump.js";
import { decryptStream, encryptStream, MAGIC, parseKey, SEGMENT_BYTES } from "../src/backups/encryption.js";
import { countTables, restoreBackup } from "../src/backups/restore.js";
import { backupStore } from "../src/backups/storage.js";
import { backupsSchema } from "../src/config/backups.js";
import { admin, appDatabase, freshDatabase, urlOf } from "./fixtures/backup-databases.js";
import { tempDir } from "./helpers.js";

// Client-side encryption (decision 047): the format on its own, then real dumps through it.

const newKey = () => randomBytes(32).toString("base64");

async function through(input: Buffer, ...steps: NodeJS.ReadWriteStream[]): Promise<Buffer> {
  let stream: NodeJS.ReadableStream = Readable.from([input]);
  for (const step of steps) {
    const from = stream;
    from.on("error", (err) => step.emit("error", err));
    stream = from.pipe(step);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const encrypt = (plain: Buffer, key = parseKey(newKey())) => through(plain, encryptStream(key));

test("round trip at every size around the segment boundary, in constant-size segments", async () => {
  const key = parseKey(newKey());
  for (const size of [
    0,
    1,
    SEGMENT_BYTES - 1,
    SEGMENT_BYTES,
    SEGMENT_BYTES + 1,
    3 * SEGMENT_BYTES,
    200_000,
  ]) {
    const plain = randomBytes(size);
    const sealed = await encrypt(plain, key);
    assert.ok(sealed.subarray(0, 8).equals(MAGIC));
    // Header 28 bytes, a 16-byte tag per segment, the last segment always short.
    assert.equal(sealed.length, 28 + size + 16 * (Math.floor(size / SEGMENT_BYTES) + 1), `size ${size}`);
    assert.ok((await through(sealed, decryptStream([key], "1"))).equals(plain), `size ${size}`);
  }
  // Two encryptions of the same data differ (a fresh nonce each time).
  const plain = randomBytes(1000);
  assert.equal((await encrypt(plain, key)).equals(await encrypt(plain, key)), false);
});

test("a wrong key, a flipped byte, a truncated file: each fails loudly", async () => {
  const key = parseKey(newKey());
  const plain = randomBytes(3 * SEGMENT_BYTES + 500);
  const sealed = await encrypt(plain, key);
  const fails = async (bytes: Buffer, keys: ReturnType<typeof parseKey>[], code: string, message: RegExp) =>
    assert.rejects(through(bytes, decryptStream(keys, "7")), (err) => {
      assert.ok(isKeelError(err, code as never), String(err));
      assert.match(err.message, message);
      return true;
    });

  const other = parseKey(newKey());
  await fails(sealed, [other], "backup_key_unknown", new RegExp(`key ${key.id.toString("hex")}`));
  // Rotation: the old key among the previous ones reads it.
  assert.ok((await through(sealed, decryptStream([other, key], "7"))).equals(plain));

  for (const at of [40, SEGMENT_BYTES + 100, sealed.length - 1]) {
    const flipped = Buffer.from(sealed);
    flipped[at] = (flipped[at] as number) ^ 0x01;
    await fails(flipped, [key], "backup_corrupt", /fails authentication/);
  }
  // Cut at a segment boundary (its last segment gone), or in the middle of one.
  const boundary = 28 + 3 * (SEGMENT_BYTES + 16);
  await fails(sealed.subarray(0, boundary), [key], "backup_corrupt", /truncated/);
  await fails(sealed.subarray(0, boundary - 100), [key], "backup_corrupt", /fails authentication|truncated/);
  await fails(sealed.subarray(0, 20), [key], "backup_corrupt", /truncated/);
  // Segments swapped.
  const swapped = Buffer.concat([
    sealed.subarray(0, 28),
    sealed.subarray(28 + SEGMENT_BYTES + 16, 28 + 2 * (SEGMENT_BYTES + 16)),
    sealed.subarray(28, 28 + SEGMENT_BYTES + 16),
    sealed.subarray(28 + 2 * (SEGMENT_BYTES + 16)),
  ]);
  await fails(swapped, [key], "backup_corrupt", /segment 0 fails authentication/);
});

test("a key that is not 32 bytes of base64 is refused without showing it", () => {
  for (const bad of ["short", randomBytes(16).toString("base64"), `${newKey()}!!`]) {
    assert.throws(
      () => parseKey(bad),
      (err) =>
        isKeelError(err, "backup_key_invalid") &&
        /openssl rand -base64 32/.test(err.message) &&
        !err.message.includes(bad),
    );
  }
});

test("an encrypted dump: no plaintext on disk, restores and drills with the key, rotation, wrong key", async () => {
  const engine = await testEngine();
  const app = await appDatabase();
  const marker = `marker_${randomBytes(4).toString("hex")}`;
  await admin(
    (c) => c.query(`create table ${marker} (note text); insert into ${marker} values ('${marker}')`),
    app,
  );
  const dir = tempDir("backups-enc");
  const oldKey = newKey();
  const env = {
    APP_DATABASE_URL: urlOf(app),
    BACKUP_KEY: oldKey,
    BACKUP_KEY_NEW: newKey(),
    OTHER_KEY: newKey(),
  };
  const keel = { connectionString: testDatabaseUrl(), schema: engine.schema };
  const config = backupsSchema.parse({
    what: { app: "${APP_DATABASE_URL}" },
    to: { dir },
    encryption: { key: "${BACKUP_KEY}" },
  });
  const backup = await backupNow(engine, config, { name: "app", url: env.APP_DATABASE_URL }, env);
  assert.match(backup.path ?? "", /\.dump\.enc$/);
  assert.deepEqual(await backupStore(config, env).list(), [backup.path]);
  const stored = readFileSync(backup.path as string);
  assert.ok(stored.subarray(0, 8).equals(MAGIC));
  assert.equal(stored.includes(marker), false, "the table's name is not readable in the stored file");
  // The control: decrypted, the dump's table of contents names it.
  const plain = await through(stored, decryptStream([parseKey(oldKey)], backup.id));
  assert.ok(plain.subarray(0, 5).equals(Buffer.from("PGDMP")));
  assert.equal(plain.includes(marker), true);

  const copy = await freshDatabase("bk_enc_copy");
  await restoreBackup(engine, backup, urlOf(copy), { config, env });
  assert.deepEqual(await countTables(engine, urlOf(copy)), backup.tables);

  // Rotated: a new key writes, the old one still reads.
  const rotated = backupsSchema.parse({
    ...config,
    encryption: { key: "${BACKUP_KEY_NEW}", previousKeys: ["${BACKUP_KEY}"] },
  });
  assert.equal((await runDrill(engine, rotated, env, keel, "app")).backupId, backup.id);

  // A config without the key it was made with: a clear error, nothing restored.
  const wrong = backupsSchema.parse({ ...config, encryption: { key: "${OTHER_KEY}" } });
  await assert.rejects(
    restoreBackup(engine, backup, urlOf(await freshDatabase("bk_enc_wrong")), { config: wrong, env }),
    (err) => {
      assert.ok(isKeelError(err, "backup_key_unknown"), String(err));
      assert.match(err.message, /previousKeys/);
      assert.equal(err.message.includes(oldKey), false);
      return true;
    },
  );

  // A flipped byte in the stored file: refused (its SHA-256, or its segment, does not match).
  const flipped = Buffer.from(stored);
  flipped[flipped.length - 100] = (flipped[flipped.length - 100] as number) ^ 0xff;
  writeFileSync(backup.path as string, flipped);
  await assert.rejects(
    restoreBackup(engine, backup, urlOf(await freshDatabase("bk_enc_bad")), { config, env }),
    (err) => isKeelError(err, "backup_corrupt"),
  );
  // A truncated one too.
  writeFileSync(backup.path as string, stored.subarray(0, stored.length - 10));
  await assert.rejects(runDrill(engine, config, env, keel, "app"), (err) => {
    assert.ok(isKeelError(err, "drill_failed"), String(err));
    assert.match(err.message, /corrupt/);
    return true;
  });
});
