import { isKeelError, normalizeSchedule } from "@keel/engine";
import { z } from "zod/v3";

// A database URL carries a password: the config file names the variable that holds it, never
// the URL itself, so the file can be committed and the value never reaches a log.
const VARIABLE = /^\$\{([A-Z_][A-Z0-9_]*)\}$/;

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
    /** A local directory the dumps are written to (created when missing). */
    dir: z.string({ required_error: "is required: the directory the dumps are written to" }).min(1),
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
  .strict();

export type BackupsConfig = z.infer<typeof backupsSchema>;

/** The variable a `${VAR}` reference names. */
export function variableName(reference: string): string {
  return VARIABLE.exec(reference)?.[1] ?? reference;
}
