import { isKeelError, normalizeSchedule } from "@keel/engine";
import { z } from "zod/v3";

// A database URL carries a password: the config file names the variable that holds it, never
// the URL itself, so the file can be committed and the value never reaches a log.
const VARIABLE = /^\$\{([A-Z_][A-Z0-9_]*)\}$/;

const variable = (what: string, example: string) =>
  z.string().regex(VARIABLE, `must be a \${VARIABLE} holding ${what}, e.g. "${example}"`);

/** `backups.to.s3`: an S3-compatible bucket (AWS, MinIO, R2, B2, …), decision 047. */
const s3Schema = z
  .object({
    bucket: z.string({ required_error: "is required: the bucket the dumps are written to" }).min(1),
    /** Keys start with this (`keel/` gives `keel/app-12-….dump`). */
    prefix: z.string().optional(),
    /** Default us-east-1 (most S3-compatible servers ignore it). */
    region: z.string().min(1).optional(),
    /** Another S3-compatible server than AWS, e.g. `https://minio.internal:9000`. */
    endpoint: z.string().url("must be a URL, e.g. https://minio.internal:9000").optional(),
    /** Path-style URLs (`endpoint/bucket/key`), which MinIO and most self-hosted servers need. */
    forcePathStyle: z.boolean().optional(),
    /** Without these two, the AWS SDK's own chain (AWS_* variables, instance or task role). */
    accessKeyId: variable("the access key id", "${BACKUP_S3_ACCESS_KEY_ID}").optional(),
    secretAccessKey: variable("the secret access key", "${BACKUP_S3_SECRET_ACCESS_KEY}").optional(),
    sessionToken: variable("a session token", "${BACKUP_S3_SESSION_TOKEN}").optional(),
  })
  .strict()
  .refine((s) => (s.accessKeyId === undefined) === (s.secretAccessKey === undefined), {
    message: "set both accessKeyId and secretAccessKey, or neither (the AWS SDK's default credentials)",
  });

export type S3Target = z.infer<typeof s3Schema>;

const days = (what: string) =>
  z
    .number({ invalid_type_error: `must be a whole number of ${what}` })
    .int(`must be a whole number of ${what}`)
    .min(1, `must be at least 1 (${what})`);

/**
 * When backups or drills run as Keel jobs (decision 048): a cron expression and its time zone,
 * checked as a schedule's would be.
 */
const scheduleSchema = z
  .object({
    cron: z.string({ required_error: 'is required, e.g. "0 2 * * *"' }).min(1),
    timezone: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    try {
      normalizeSchedule("backups", { ...s, target: { handler: "check" } }, { payloadLimitBytes: 1024 });
    } catch (err) {
      if (!isKeelError(err)) throw err;
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${err.code}: ${err.message}` });
    }
  });

export type BackupSchedule = z.infer<typeof scheduleSchema>;

/**
 * `backups:` in the config file (docs/backups.md, decision 046): what to dump, where to, how many
 * to keep, and the ages `keel doctor` holds the latest backup and restore drill to.
 *
 * @example
 * backups:
 *   what: { app: "${APP_DATABASE_URL}", keel: true }
 *   dir: /var/backups/keel
 *   keep: { count: 14, days: 30 }
 *   schedule: { cron: "0 2 * * *", timezone: "Europe/Paris" }
 *   drills: { schedule: { cron: "0 4 * * 0" } }
 */
export const backupsSchema = z
  .object({
    what: z
      .object({
        /** The application's database, as a `${VARIABLE}` holding its URL. */
        app: z
          .string()
          .regex(VARIABLE, 'must be a ${VARIABLE} holding the database URL, e.g. "${APP_DATABASE_URL}"')
          .optional(),
        /** Keel's own schema, in Keel's database. */
        keel: z.boolean().optional(),
      })
      .strict()
      .refine((w) => w.app !== undefined || w.keel === true, {
        message: 'names nothing to dump: set app: "${APP_DATABASE_URL}" and/or keel: true',
      }),
    /** A local directory the dumps are written to (created when missing); or `to:`. */
    dir: z.string().min(1).optional(),
    /** Where the dumps go: `{ dir }` or `{ s3: { bucket, … } }` (decision 047). */
    to: z
      .object({ dir: z.string().min(1).optional(), s3: s3Schema.optional() })
      .strict()
      .refine((t) => (t.dir === undefined) !== (t.s3 === undefined), {
        message: "set exactly one of dir: (a local directory) or s3: (a bucket)",
      })
      .optional(),
    /**
     * Client-side encryption (AES-256-GCM, decision 047): `key` encrypts new dumps and reads
     * them; `previousKeys` only read older ones (rotation). Each a `${VARIABLE}` holding 32
     * random bytes in base64 (`openssl rand -base64 32`).
     */
    encryption: z
      .object({
        key: variable("a 32-byte base64 key", "${BACKUP_KEY}"),
        previousKeys: z.array(variable("a 32-byte base64 key", "${BACKUP_KEY_OLD}")).optional(),
      })
      .strict()
      .optional(),
    keep: z
      .object({ count: days("backups").optional(), days: days("days").optional() })
      .strict()
      .optional(),
    /** Backups as a Keel job on this schedule (queue `keel.backups`); without it, only `keel backup now`. */
    schedule: scheduleSchema.optional(),
    /** `keel doctor` warns when the latest successful backup is older, fails past twice that. */
    maxAgeHours: days("hours").default(26),
    drills: z
      .object({
        /** Drills as a Keel job on this schedule (queue `keel.backups`); without it, only `keel backup drill`. */
        schedule: scheduleSchema.optional(),
        /** `keel doctor` warns when the latest passing drill is older, fails past twice that. */
        maxAgeDays: days("days").default(8),
        /**
         * A query of your own, run in the restored scratch database, e.g.
         * `select max(created_at) > now() - interval '2 days' from orders`; the drill passes only
         * when its first row's first column is true.
         */
        check: z.string().min(1, "must be a SQL query returning true").optional(),
        /**
         * A `${VARIABLE}` holding the URL of a database on the server the scratch database is
         * created on; by default the server of the backup's own source.
         */
        server: z
          .string()
          .regex(VARIABLE, 'must be a ${VARIABLE} holding a database URL, e.g. "${DRILL_DATABASE_URL}"')
          .optional(),
      })
      .strict()
      .default({}),
  })
  .strict()
  .refine((b) => (b.dir === undefined) !== (b.to === undefined), {
    message: "set where the dumps go: dir: /var/backups/keel, or to: { s3: { bucket, … } } (not both)",
  });

export type BackupsConfig = z.infer<typeof backupsSchema>;

/** The variable a `${VAR}` reference names. */
export function variableName(reference: string): string {
  return VARIABLE.exec(reference)?.[1] ?? reference;
}
