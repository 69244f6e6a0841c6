import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { KeelError } from "@keel/engine";
import type { BackupsConfig } from "../config/backups.js";
import { resolveVariable } from "./targets.js";

/**
 * Client-side encryption of dumps (decision 047): AES-256-GCM in 64 KiB segments, each with its
 * own nonce and tag, so a dump streams through in constant memory and any change, reordering or
 * truncation fails loudly. The format (all integers big-endian):
 *
 *   header  = "KEELENC" 0x01 (8 bytes: magic, format version 1)
 *             key id (8 bytes: the first 8 bytes of SHA-256("keel-backup-key" ‖ key))
 *             base nonce (12 random bytes)
 *   segment = AES-256-GCM(plaintext ≤ 64 KiB) ‖ tag (16 bytes)
 *
 * Segment i's nonce is the base nonce with i XORed into its last 8 bytes; its additional data
 * is the header followed by one byte, 1 for the last segment and 0 otherwise. Every segment but
 * the last holds exactly 64 KiB of plaintext; the last holds less (possibly nothing), so a file
 * cut at a segment boundary lacks its last segment and is refused.
 */
export const MAGIC = Buffer.from("KEELENC\x01", "latin1");
const HEADER_BYTES = 8 + 8 + 12;
export const SEGMENT_BYTES = 64 * 1024;
const TAG_BYTES = 16;

/** A 32-byte key and its id, as written in the header. */
export interface BackupKey {
  key: Buffer;
  id: Buffer;
}

/** The keys `backups.encryption` names, the writing key first; none without encryption. */
export function backupKeys(config: BackupsConfig, env: NodeJS.ProcessEnv): BackupKey[] {
  const enc = config.encryption;
  if (!enc) return [];
  const refs = [enc.key, ...(enc.previousKeys ?? [])];
  return refs.map((ref, i) => {
    const field = i === 0 ? "encryption.key" : `encryption.previousKeys.${i - 1}`;
    return parseKey(
      resolveVariable(ref, env, field, "a 32-byte base64 key (openssl rand -base64 32)"),
      field,
    );
  });
}

/** A base64 key of exactly 32 bytes; `backup_key_invalid` otherwise (the value never shown). */
export function parseKey(base64: string, field = "encryption.key"): BackupKey {
  const key = Buffer.from(base64, "base64");
  if (key.length !== 32 || key.toString("base64") !== base64.replace(/\s/g, "")) {
    throw new KeelError("backup_key_invalid", { field: `backups.${field}`, bytes: key.length });
  }
  return { key, id: keyId(key) };
}

function keyId(key: Buffer): Buffer {
  return createHash("sha256").update("keel-backup-key").update(key).digest().subarray(0, 8);
}

function nonceFor(base: Buffer, index: number): Buffer {
  const nonce = Buffer.from(base);
  const counter = nonce.readBigUInt64BE(4) ^ BigInt(index);
  nonce.writeBigUInt64BE(counter, 4);
  return nonce;
}

function seal(key: BackupKey, header: Buffer, base: Buffer, index: number, plain: Buffer, last: boolean) {
  const cipher = createCipheriv("aes-256-gcm", key.key, nonceFor(base, index));
  cipher.setAAD(Buffer.concat([header, Buffer.from([last ? 1 : 0])]));
  return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

function open(key: BackupKey, header: Buffer, base: Buffer, index: number, sealed: Buffer, last: boolean) {
  const decipher = createDecipheriv("aes-256-gcm", key.key, nonceFor(base, index));
  decipher.setAAD(Buffer.concat([header, Buffer.from([last ? 1 : 0])]));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]);
  } catch {
    return undefined;
  }
}

/**
 * Encrypts a stream with `key` into the format above.
 *
 * @example
 * await pipeline(dump, encryptStream(parseKey(process.env.BACKUP_KEY)), createWriteStream("app.dump.enc"));
 */
export function encryptStream(key: BackupKey): Transform {
  const base = randomBytes(12);
  const header = Buffer.concat([MAGIC, key.id, base]);
  let pending: Buffer = Buffer.alloc(0);
  let index = 0;
  let started = false;
  const start = (t: Transform) => {
    if (!started) t.push(header);
    started = true;
  };
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      start(this);
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      // Keep at least one byte back: a full segment is never the last one.
      while (pending.length > SEGMENT_BYTES) {
        this.push(seal(key, header, base, index++, pending.subarray(0, SEGMENT_BYTES), false));
        pending = pending.subarray(SEGMENT_BYTES);
      }
      done();
    },
    flush(done: TransformCallback) {
      start(this);
      if (pending.length === SEGMENT_BYTES) {
        this.push(seal(key, header, base, index++, pending, false));
        pending = Buffer.alloc(0);
      }
      this.push(seal(key, header, base, index, pending, true));
      done();
    },
  });
}

/**
 * Decrypts what `encryptStream` wrote with any of `keys`; passes a stream that does not start
 * with the magic through unchanged (dumps taken before encryption was turned on). Fails with
 * `backup_key_unknown` when no key has the header's id, and `backup_corrupt` when a segment
 * fails authentication or the last one is missing.
 *
 * @example
 * await pipeline(createReadStream("app.dump.enc"), decryptStream(backupKeys(config, env), "12"), out);
 */
export function decryptStream(keys: readonly BackupKey[], backupId: string): Transform {
  let head: Buffer = Buffer.alloc(0);
  let mode: "head" | "plain" | "sealed" = "head";
  let key: BackupKey | undefined;
  let header: Buffer = Buffer.alloc(0);
  let base: Buffer = Buffer.alloc(0);
  let pending: Buffer = Buffer.alloc(0);
  let index = 0;
  const full = SEGMENT_BYTES + TAG_BYTES;
  const corrupt = (detail: string) => new KeelError("backup_corrupt", { id: backupId, detail });
  const begin = (t: Transform, data: Buffer): Error | undefined => {
    if (!data.subarray(0, MAGIC.length).equals(MAGIC)) {
      mode = "plain";
      t.push(data);
      return undefined;
    }
    if (data.length < HEADER_BYTES) return undefined;
    header = data.subarray(0, HEADER_BYTES);
    const id = header.subarray(8, 16);
    key = keys.find((k) => k.id.equals(id));
    if (!key) {
      return new KeelError("backup_key_unknown", {
        id: backupId,
        keyId: id.toString("hex"),
        configured: keys.length ? keys.map((k) => k.id.toString("hex")).join(", ") : "none",
      });
    }
    base = header.subarray(16, 28);
    pending = data.subarray(HEADER_BYTES);
    mode = "sealed";
    return undefined;
  };
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      if (mode === "plain") return done(null, chunk);
      if (mode === "head") {
        head = Buffer.concat([head, chunk]);
        if (
          head.length < HEADER_BYTES &&
          MAGIC.subarray(0, head.length).equals(head.subarray(0, MAGIC.length))
        )
          return done();
        const err = begin(this, head);
        if (err) return done(err);
        if ((mode as string) !== "sealed") return done();
      } else pending = Buffer.concat([pending, chunk]);
      // A full segment followed by more bytes is not the last one.
      while (pending.length > full) {
        const plain = open(key as BackupKey, header, base, index, pending.subarray(0, full), false);
        if (!plain)
          return done(corrupt(`encrypted segment ${index} fails authentication: the file was changed`));
        this.push(plain);
        index++;
        pending = pending.subarray(full);
      }
      done();
    },
    flush(done: TransformCallback) {
      if (mode === "head") {
        if (head.length === 0) return done();
        const err = begin(this, head);
        if (err) return done(err);
        if ((mode as string) === "head")
          return done(corrupt("the encrypted file is truncated: its header is cut"));
        if ((mode as string) !== "sealed") return done();
      }
      if (mode === "plain") return done();
      if (pending.length < TAG_BYTES)
        return done(corrupt("the encrypted file is truncated: its last segment is missing"));
      const plain = open(key as BackupKey, header, base, index, pending, true);
      if (plain) {
        this.push(plain);
        return done();
      }
      const cut = pending.length === full && open(key as BackupKey, header, base, index, pending, false);
      done(
        corrupt(
          cut
            ? "the encrypted file is truncated: it ends before its last segment"
            : `encrypted segment ${index} fails authentication: the file was changed or truncated`,
        ),
      );
    },
  });
}
