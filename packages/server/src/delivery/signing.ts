import { KeelError } from "@keel/engine";
import {
  parseStandardSecret,
  type StandardKey,
  signStandard,
  standardSecretProblem,
} from "@keel/protocol/webhooks";

/** A Standard Webhooks secret, checked and decoded once (@keel/protocol/webhooks). */
export type SigningKey = StandardKey;

/**
 * Checks and decodes `whsec_<base64>` secrets (the one rule, `standardSecretProblem`). Fails on
 * anything else, naming every bad secret by position and never echoing one: a typo caught at
 * start beats every receiver rejecting every delivery.
 *
 * @example
 * const keys = parseSigningSecrets(["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]);
 */
export function parseSigningSecrets(secrets: readonly string[]): SigningKey[] {
  const problems: string[] = [];
  if (secrets.length === 0) problems.push("give at least one signing secret (whsec_<base64>)");
  secrets.forEach((secret, i) => {
    const problem = standardSecretProblem(secret);
    if (problem) problems.push(`signing secret #${i + 1} ${problem}`);
  });
  if (problems.length > 0) {
    throw new KeelError("invalid_config", { problems: `- ${problems.join("\n- ")}`, list: problems });
  }
  return secrets.map(parseStandardSecret);
}

export interface SignInput {
  /** The `webhook-id` header value. */
  id: string;
  /** Unix seconds: the `webhook-timestamp` header value. */
  timestamp: number;
  /** The exact bytes sent as the body ("" when there is none); text is signed as UTF-8. */
  body: string | Uint8Array;
  /** Every active secret: during rotation receivers may know only the old or only the new one. */
  secrets: readonly (string | SigningKey)[];
}

/**
 * The `webhook-signature` header value: `v1,<base64 HMAC-SHA256 of id.timestamp.body>` per
 * secret, space-separated.
 *
 * @example
 * await signPayload({ id: "msg_1", timestamp: 1614265330, body: "{}", secrets: ["whsec_…"] });
 * // "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
 */
export async function signPayload(input: SignInput): Promise<string> {
  if (!Number.isSafeInteger(input.timestamp) || input.timestamp < 0) {
    throw new KeelError("invalid_argument", { detail: "timestamp must be whole unix seconds" });
  }
  if (input.secrets.length === 0) {
    throw new KeelError("invalid_argument", { detail: "give at least one signing secret" });
  }
  const strings = input.secrets.filter((s) => typeof s === "string");
  // Parse the strings together so a bad one is reported by position; keys pass through.
  const parsed = strings.length > 0 ? parseSigningSecrets(strings) : [];
  const keys = input.secrets.map((s) => (typeof s === "string" ? (parsed.shift() as SigningKey) : s));
  return signStandard(input, keys);
}
