import {
  describeIssue,
  type Engine,
  KeelError,
  type MutationOptions,
  type Source,
  type SourceDefinition,
  sourceDefinitionSchema,
} from "@keel/engine";
import { SOURCE_NAME } from "@keel/protocol/names";
import { z } from "zod/v3";
import { resolveSecrets, SecretProblem } from "../intake/secrets.js";

/**
 * `sources:` in the config file: one webhook source per name (`POST /in/<name>`), in the same
 * shape as `PUT /v1/sources/:name` (docs/intake/). Secrets must be `${VAR}` references: the file
 * is often committed, and the value is read from the environment when a request is verified.
 *
 * @example
 * sources:
 *   stripe:
 *     provider: stripe
 *     secrets: ["${STRIPE_WEBHOOK_SECRET}"]
 *     routes:
 *       - events: ["customer.subscription.*", "invoice.paid"]
 *         target: { url: https://crm.example.com/api/webhooks/stripe }
 */
export const sourcesSchema = z
  .record(
    z.string().regex(SOURCE_NAME, "source names use letters, digits and _.:- (they are URL path segments)"),
    z.unknown(),
  )
  .superRefine((sources, ctx) => {
    for (const [name, definition] of Object.entries(sources)) {
      // Checked as PUT /v1/sources/:name checks it (the one definition), every problem named.
      const parsed = sourceDefinitionSchema.safeParse(definition);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            path: [name, ...issue.path.map((p) => (typeof p === "symbol" ? String(p) : p))],
            message: describeIssue({ ...issue, path: [] }),
          });
        }
        continue;
      }
      parsed.data.secrets.forEach((secret, i) => {
        if (!/^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(secret)) {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            path: [name, "secrets", i],
            message:
              "put the secret in an environment variable and reference it, e.g. ${STRIPE_WEBHOOK_SECRET} (the file must not hold secrets)",
          });
        }
      });
    }
  })
  .transform((sources) => sources as Record<string, SourceDefinition>);

export type SourcesConfig = z.infer<typeof sourcesSchema>;

export interface SourceSyncResult {
  created: string[];
  updated: string[];
  removed: string[];
  unchanged: string[];
}

/**
 * Applies the config file's sources at start: each is created or updated (a source made through
 * the API under the same name is taken over by the file), and sources the file managed but no
 * longer declares are removed (their events stay until retention). Every `${VAR}` must be set,
 * or the start fails naming the field. Running it again with the same file changes nothing.
 * Each change writes its audit row as `as.by` (`keel start`: `config:<file name>`, see
 * `configSync` in runtime/config-sync.ts).
 *
 * @example
 * const { created, removed } = await syncSources(engine, config.sources, process.env, configSync("keel.config.yaml"));
 */
export async function syncSources(
  engine: Engine,
  sources: SourcesConfig | undefined,
  env: NodeJS.ProcessEnv,
  as: MutationOptions = {},
): Promise<SourceSyncResult> {
  const declared = sources ?? {};
  const problems = sourceSecretProblems(declared, env);
  if (problems.length > 0) {
    throw new KeelError("invalid_config", { problems: `- ${problems.join("\n- ")}`, list: problems });
  }
  const result: SourceSyncResult = { created: [], updated: [], removed: [], unchanged: [] };
  for (const [name, def] of Object.entries(declared)) {
    const { change } = await engine.intake.sources.put(name, def, { ...as, managedBy: "config" });
    result[change].push(name);
  }
  for (const source of await engine.intake.sources.list()) {
    if (source.managedBy === "config" && !Object.hasOwn(declared, source.name)) {
      await engine.intake.sources.remove(source.name, { ...as, managedBy: "config" });
      result.removed.push(source.name);
    }
  }
  return result;
}

/**
 * Why the sources' secrets cannot be used in this environment (an unset variable, one of Keel's
 * own, a malformed Standard Webhooks secret), one line per source; names, never values. Takes
 * the `sources:` section as written, so it can be checked together with the file's validation.
 */
export function sourceSecretProblems(sources: unknown, env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  if (sources === null || typeof sources !== "object") return problems;
  for (const [name, def] of Object.entries(sources)) {
    const { provider, secrets } = (def ?? {}) as { provider?: unknown; secrets?: unknown };
    if (typeof provider !== "string" || !Array.isArray(secrets)) continue;
    if (!secrets.every((x): x is string => typeof x === "string")) continue;
    try {
      resolveSecrets({ provider: provider as Source["provider"], secrets }, env);
    } catch (err) {
      if (!(err instanceof SecretProblem)) throw err;
      problems.push(`sources.${name}.${err.message}`);
    }
  }
  return problems;
}
