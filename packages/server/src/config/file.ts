import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { describeIssue, KeelError, type QueueSettings, queueSettingsSchema } from "@keel/engine";
import { QUEUE_NAME } from "@keel/protocol/names";
import { z } from "zod/v3";
import { RESERVED_SCHEDULES } from "../backups/names.js";
import { backupsSchema } from "./backups.js";
import { doctorSchema } from "./doctor.js";
import { policiesSchema } from "./policies.js";
import { schedulesSchema } from "./schedules.js";
import { sourcesSchema } from "./sources.js";

const fileSchema = z
  .object({
    queues: z
      .record(z.string().regex(QUEUE_NAME, "queue names use letters, digits and _.:-"), z.unknown())
      .superRefine((queues, ctx) => {
        // Checked as the engine checks them (one definition), every problem named.
        for (const [name, settings] of Object.entries(queues)) {
          const parsed = queueSettingsSchema.safeParse(settings ?? {});
          for (const issue of parsed.error?.issues ?? []) {
            ctx.addIssue({
              code: z.ZodIssueCode.custom,
              path: [name, ...issue.path.map((p) => (typeof p === "symbol" ? String(p) : p))],
              message: describeIssue({ ...issue, path: [] }),
            });
          }
        }
      })
      .transform((queues) => queues as Record<string, QueueSettings>)
      .optional(),
    /** Cron schedules, synced at start (config/schedules.ts). */
    schedules: schedulesSchema.optional(),
    /** Webhook sources for POST /in/<source> (config/sources.ts). */
    sources: sourcesSchema.optional(),
    /** Rate-limit policies for POST /v1/ratelimit/check (config/policies.ts). */
    policies: policiesSchema.optional(),
    /** How long the audit log keeps entries; without it, forever (decision 043). */
    audit: z
      .object({
        retentionDays: z
          .number({
            invalid_type_error: "must be a whole number of days, e.g. 90",
            required_error:
              "is required in audit: (days to keep entries); remove audit: to keep them forever",
          })
          .int("must be a whole number of days, e.g. 90")
          .min(1, "must be at least 1 day (remove `audit:` to keep entries forever)")
          .max(36_500, "must be at most 36500 days (100 years)"),
      })
      .strict()
      .optional(),
    /** `keel backup now | list | restore | drill` (config/backups.ts, docs/backups.md). */
    backups: backupsSchema.optional(),
    /** What `keel doctor` probes beyond Keel: the application's own health URL (config/doctor.ts). */
    doctor: doctorSchema.optional(),
  })
  .strict()
  .superRefine((file, ctx) => {
    // backups.schedule and backups.drills.schedule become these schedules (decision 048).
    for (const name of RESERVED_SCHEDULES) {
      if (file.schedules && name in file.schedules) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ["schedules", name],
          message: `${name} is Keel's own schedule for backups: (set backups.schedule or backups.drills.schedule instead), rename this one`,
        });
      }
    }
  });

/** The declarative config (queues today; schedules and sources arrive with their features). */
export type KeelConfigFile = z.infer<typeof fileSchema>;

const CANDIDATES = [
  "keel.config.yaml",
  "keel.config.yml",
  "keel.config.json",
  "keel.config.js",
  "keel.config.mjs",
];

/**
 * Finds and reads the config file: KEEL_CONFIG, else the first `keel.config.*` in `cwd`.
 * Returns an empty config when there is none. Every problem is reported at once, with its path.
 *
 * @example
 * const { config, path } = await loadConfigFile({ cwd: process.cwd() });
 * for (const [name, settings] of Object.entries(config.queues ?? {})) await engine.upsertQueue(name, settings);
 */
export async function loadConfigFile(options: { file?: string; cwd?: string } = {}): Promise<{
  config: KeelConfigFile;
  path: string | undefined;
}> {
  const { raw, path } = await readConfigFile(options);
  const parsed = parseConfigFile(raw, path);
  if ("problems" in parsed) {
    const list = parsed.problems;
    throw new KeelError("invalid_config", { problems: `- ${list.join("\n- ")}`, list });
  }
  return { config: parsed.config, path };
}

/**
 * The config file as written, not yet validated: KEEL_CONFIG, else the first `keel.config.*` in
 * `cwd`; `{}` when there is none. Throws `invalid_config` when the file is missing or unreadable.
 */
export async function readConfigFile(
  options: { file?: string; cwd?: string } = {},
): Promise<{ raw: unknown; path: string | undefined }> {
  const cwd = options.cwd ?? process.cwd();
  const path = options.file
    ? resolve(cwd, options.file)
    : CANDIDATES.map((c) => resolve(cwd, c)).find(existsSync);
  if (!path) return { raw: {}, path: undefined };
  if (!existsSync(path)) {
    throw new KeelError("invalid_config", {
      problems: `- KEEL_CONFIG: ${path} does not exist`,
      list: [`KEEL_CONFIG: ${path} does not exist`],
    });
  }
  return { raw: await readRaw(path), path };
}

/** Validates the file's content: the config, or every problem found, each with its path. */
export function parseConfigFile(
  raw: unknown,
  path: string | undefined,
): { config: KeelConfigFile } | { problems: string[] } {
  const parsed = fileSchema.safeParse(raw);
  if (parsed.success) return { config: parsed.data };
  const problems = parsed.error.issues.map((i) => {
    const where = i.path.join(".") || "(top level)";
    const message =
      i.code === "unrecognized_keys"
        ? `unknown key${i.keys.length > 1 ? "s" : ""} ${i.keys.join(", ")}: remove or correct them`
        : i.message;
    return `${path ?? "config"}: ${where}: ${message}`;
  });
  return { problems };
}

async function readRaw(path: string): Promise<unknown> {
  const ext = extname(path);
  try {
    if (ext === ".json") return JSON.parse(readFileSync(path, "utf8"));
    if (ext === ".yaml" || ext === ".yml") {
      // Loaded only for YAML files: a process configured otherwise does not carry the parser.
      const { parse } = createRequire(import.meta.url)("yaml") as typeof import("yaml");
      return parse(readFileSync(path, "utf8")) ?? {};
    }
    const mod = (await import(pathToFileURL(path).href)) as { default?: unknown };
    return mod.default ?? mod;
  } catch (err) {
    const detail = `${path}: cannot be read: ${(err as Error).message}`;
    throw new KeelError("invalid_config", { problems: `- ${detail}`, list: [detail] });
  }
}
