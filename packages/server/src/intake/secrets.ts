import type { Source } from "@keel/engine";
import { VARIABLE_REFERENCE } from "@keel/protocol/names";
import { standardSecretProblem } from "@keel/protocol/webhooks";
import { isKeelOwnVariable } from "../delivery/headers.js";
import { memoByText } from "./memo.js";

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
    let resolved = "";
    for (const part of template(secret)) {
      if (typeof part === "string") {
        resolved += part;
        continue;
      }
      const { variable } = part;
      if (isKeelOwnVariable(variable)) {
        throw new SecretProblem(`secrets[${i}] reads \${${variable}}, one of Keel's own variables`);
      }
      const value = env[variable];
      if (value === undefined || value === "") {
        throw new SecretProblem(`secrets[${i}]: \${${variable}} is not set in Keel's environment`);
      }
      resolved += value;
    }
    const problem = source.provider === "standard" ? standardSecretProblem(resolved) : null;
    if (problem) throw new SecretProblem(`secrets[${i}] ${problem}`);
    return resolved;
  });
}

type Part = string | { variable: string };

// Secrets are resolved on every request (the environment is read then, never stored); their
// parsing into text and `${VAR}` parts is not, as it showed in intake profiles.
const template = memoByText(256, (secret: string): Part[] => {
  const parts: Part[] = [];
  let last = 0;
  for (const match of secret.matchAll(VARIABLE_REFERENCE)) {
    if (match.index > last) parts.push(secret.slice(last, match.index));
    parts.push({ variable: match[1] as string });
    last = match.index + match[0].length;
  }
  if (last < secret.length) parts.push(secret.slice(last));
  return parts;
});
