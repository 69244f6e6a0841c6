import { z } from "zod/v3";
import { isKeelOwnVariable } from "../delivery/headers.js";

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * `doctor:` in the config file: what `keel doctor` checks beyond Keel itself (decision 049).
 * `appHealth` is the application's own health URL, probed with an unauthenticated GET through
 * the delivery guard; `${VAR}`s are read from Keel's environment when the doctor runs.
 *
 * @example
 * doctor:
 *   appHealth: "${APP_URL}/health"
 */
export const doctorSchema = z
  .object({
    appHealth: z
      .string({
        invalid_type_error: "must be a URL, e.g. https://app.example.com/health or ${APP_URL}/health",
      })
      .superRefine((url, ctx) => {
        for (const [, variable] of url.matchAll(VARIABLE)) {
          if (isKeelOwnVariable(variable as string)) {
            ctx.addIssue({
              code: z.ZodIssueCode.custom,
              message: `uses \${${variable}}, Keel's own configuration, which is never sent to another host; use a variable of its own, e.g. \${APP_URL}`,
            });
          }
        }
        if (!/^(https?:\/\/|\$\{)/.test(url)) {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            message:
              "must start with http:// or https:// (or a ${VAR} holding the origin), e.g. ${APP_URL}/health",
          });
        }
      })
      .optional(),
  })
  .strict();

export type DoctorConfig = z.infer<typeof doctorSchema>;

/**
 * The URL with every `${VAR}` replaced from `env`, or the variables that are unset or empty.
 *
 * @example
 * expandUrl("${APP_URL}/health", { APP_URL: "https://app.example.com" }); // { url: "https://app.example.com/health" }
 */
export function expandUrl(url: string, env: NodeJS.ProcessEnv): { url: string } | { unset: string[] } {
  const unset = [...url.matchAll(VARIABLE)].map((m) => m[1] as string).filter((v) => !env[v]);
  if (unset.length > 0) return { unset: [...new Set(unset)] };
  return { url: url.replace(VARIABLE, (_, v: string) => env[v] as string) };
}
