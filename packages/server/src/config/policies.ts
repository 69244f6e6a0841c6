import { POLICY_NAME } from "@keel/protocol/names";
import { FAIL_MODES, type FailMode, type Policy, policyProblems } from "@keel/protocol/ratelimit";
import { z } from "zod/v3";

/**
 * One rate-limit policy in the config file's `policies:` map, for POST /v1/ratelimit/check:
 *
 * ```yaml
 * policies:
 *   api: { limit: 100, window: 60, failMode: fallback, expectedReplicas: 3 }
 * ```
 */
export const policySettingsSchema = z
  .object({
    /** Units admitted per window. */
    limit: z.number().int().min(1),
    /** The window in whole seconds. */
    window: z.number().int().min(1),
    /** Units a key may spend at once; default `limit`. */
    burst: z.number().int().min(1).optional(),
    /** When the store fails: open, closed, or fallback (default: this process's share in memory). */
    failMode: z.enum(FAIL_MODES as [FailMode, ...FailMode[]]).optional(),
    /** Keel replicas serving the API: the fallback's share of the quota. Default 1. */
    expectedReplicas: z.number().int().min(1).optional(),
  })
  .strict()
  // The SDK's rules (ranges, at most a million per second), per entry so that every entry's
  // problems are reported together with the file's other mistakes. The name is checked by the key.
  .superRefine((settings, ctx) => {
    for (const problem of policyProblems(toPolicy("policy", settings))) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: fileWords(problem) });
    }
  });

export type PolicySettings = z.output<typeof policySettingsSchema>;

/** The `policies:` map, by policy name. */
export const policiesSchema = z.record(
  z.string().regex(POLICY_NAME, "policy names use 1–64 letters, digits and _.-"),
  policySettingsSchema,
);

export type PoliciesConfig = z.infer<typeof policiesSchema>;

/** The SDK policy of a config entry. */
export function toPolicy(name: string, settings: PolicySettings): Policy {
  const { window, ...rest } = settings;
  return { name, windowSeconds: window, ...rest };
}

/** The SDK policies of the whole map, in file order. */
export function toPolicies(policies: PoliciesConfig | undefined): Policy[] {
  return Object.entries(policies ?? {}).map(([name, settings]) => toPolicy(name, settings));
}

// The SDK names the window `windowSeconds`; the file calls it `window`.
function fileWords(problem: string): string {
  return problem.replaceAll("windowSeconds", "window");
}
