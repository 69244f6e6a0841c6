import { isWhsec, type Source } from "@keel/engine";
import { mayRead } from "../delivery/headers.js";

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Why a source's secrets cannot be used; the message names the secret and variable, never a value. */
export class SecretProblem extends Error {
  override name = "SecretProblem";
}

/**
 * The source's secrets with every `${VAR}` read from the environment now: a secret configured
 * as a reference is never stored resolved (decision 014). Throws a SecretProblem naming the
 * first unusable secret: an unset variable, one of Keel's own, or (standard) not a whsec_ value.
 *
 * @example
 * resolveSecrets({ provider: "stripe", secrets: ["${STRIPE_WEBHOOK_SECRET}"] }, process.env);
 */
export function resolveSecrets(
  source: Pick<Source, "provider" | "secrets">,
  env: NodeJS.ProcessEnv,
): string[] {
  return source.secrets.map((secret, i) => {
    const resolved = secret.replace(VARIABLE, (_, variable: string) => {
      if (!mayRead(variable, undefined)) {
        throw new SecretProblem(`secrets[${i}] reads \${${variable}}, one of Keel's own variables`);
      }
      const value = env[variable];
      if (value === undefined || value === "") {
        throw new SecretProblem(`secrets[${i}]: \${${variable}} is not set in Keel's environment`);
      }
      return value;
    });
    if (source.provider === "standard" && !isWhsec(resolved)) {
      throw new SecretProblem(`secrets[${i}] is not a Standard Webhooks secret (whsec_ followed by base64)`);
    }
    return resolved;
  });
}
