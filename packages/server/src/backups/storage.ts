import { createReadStream, createWriteStream, existsSync } from "node:fs";
import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { S3Client, S3ClientConfig } from "@aws-sdk/client-s3";
import type { BackupsConfig, S3Target } from "../config/backups.js";
import { resolveVariable } from "./targets.js";

/**
 * Where dumps are kept: a local directory or an S3-compatible bucket, one interface (decision
 * 047). A dump's location, as recorded in `backups.path`, is a file path or `s3://bucket/key`.
 */
export interface BackupStore {
  /** Writes `body` as `name`; the object appears only once the stream ended without error. */
  put(name: string, body: Readable): Promise<string>;
  /** The stored bytes at `location`; `undefined` when there is no such object. */
  get(location: string): Promise<Readable | undefined>;
  delete(location: string): Promise<void>;
  /** The locations of every stored object. */
  list(): Promise<string[]>;
}

/**
 * The store `backups.to` (or the older `backups.dir`) names, its `${VARIABLE}`s read from `env`.
 *
 * @example
 * const location = await backupStore(config, process.env).put("app-12.dump", stream); // "s3://acme-backups/keel/app-12.dump"
 */
export function backupStore(config: BackupsConfig, env: NodeJS.ProcessEnv): BackupStore {
  const s3 = config.to?.s3;
  if (s3) return new S3Store(s3, env);
  return new DirStore(config.to?.dir ?? (config.dir as string));
}

/** The store that holds `location`: the configured one, or for `s3://` the bucket it names. */
export function storeOf(
  location: string,
  config: BackupsConfig | undefined,
  env: NodeJS.ProcessEnv,
): BackupStore {
  if (!location.startsWith("s3://")) return new DirStore(resolve(location, ".."));
  const s3 = config?.to?.s3;
  if (!s3) {
    throw new Error(`${location} is in S3 but backups.to.s3 is not configured: set it to read the dump`);
  }
  return new S3Store(s3, env);
}

class DirStore implements BackupStore {
  private readonly dir: string;
  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  async put(name: string, body: Readable): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const path = join(this.dir, name);
    const partial = `${path}.partial`;
    try {
      await pipeline(body, createWriteStream(partial));
      await rename(partial, path);
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
    return path;
  }

  async get(location: string): Promise<Readable | undefined> {
    return existsSync(location) ? createReadStream(location) : undefined;
  }

  async delete(location: string): Promise<void> {
    await rm(location, { force: true });
  }

  async list(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => []);
    return names.filter((n) => !n.endsWith(".partial")).map((n) => join(this.dir, n));
  }
}

// The AWS SDK takes about a quarter of a second to load: only processes that use S3 load it.
const sdk = () => Promise.all([import("@aws-sdk/client-s3"), import("@aws-sdk/lib-storage")]);

class S3Store implements BackupStore {
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly options: S3ClientConfig;
  private loaded: Promise<[Awaited<ReturnType<typeof sdk>>, S3Client]> | undefined;

  constructor(config: S3Target, env: NodeJS.ProcessEnv) {
    this.bucket = config.bucket;
    this.prefix = config.prefix ? `${config.prefix.replace(/\/+$/, "")}/` : "";
    const variable = (ref: string | undefined, field: string) =>
      ref === undefined ? undefined : resolveVariable(ref, env, `to.s3.${field}`, "its value");
    const accessKeyId = variable(config.accessKeyId, "accessKeyId");
    const secretAccessKey = variable(config.secretAccessKey, "secretAccessKey");
    const sessionToken = variable(config.sessionToken, "sessionToken");
    this.options = {
      region: config.region ?? "us-east-1",
      endpoint: config.endpoint,
      forcePathStyle: config.forcePathStyle,
      // Without keys: the SDK's own chain (AWS_* variables, instance or task role).
      credentials:
        accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, sessionToken } : undefined,
    };
  }

  private client() {
    this.loaded ??= sdk().then((modules) => [modules, new modules[0].S3Client(this.options)]);
    return this.loaded;
  }

  async put(name: string, body: Readable): Promise<string> {
    const [[, { Upload }], client] = await this.client();
    const key = `${this.prefix}${name}`;
    // Multipart in 8 MiB parts as the stream comes: no local copy, any size. A failed upload
    // is aborted, so no partial object remains.
    await new Upload({
      client,
      params: { Bucket: this.bucket, Key: key, Body: body, ContentType: "application/octet-stream" },
      partSize: 8 * 1024 * 1024,
      queueSize: 2,
    }).done();
    return `s3://${this.bucket}/${key}`;
  }

  async get(location: string): Promise<Readable | undefined> {
    const [[{ GetObjectCommand }], client] = await this.client();
    const { bucket, key } = parse(location);
    try {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return out.Body as Readable;
    } catch (err) {
      if ((err as { name?: string }).name === "NoSuchKey") return undefined;
      throw err;
    }
  }

  async delete(location: string): Promise<void> {
    const [[{ DeleteObjectCommand }], client] = await this.client();
    const { bucket, key } = parse(location);
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }

  async list(): Promise<string[]> {
    const [[{ ListObjectsV2Command }], client] = await this.client();
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) if (o.Key) out.push(`s3://${this.bucket}/${o.Key}`);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }
}

function parse(location: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(location);
  if (!m) throw new Error(`${location} is not an s3://bucket/key location`);
  return { bucket: m[1] as string, key: m[2] as string };
}
