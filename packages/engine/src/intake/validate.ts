import { Route, SourceInput } from "@keel/protocol/contracts";
import { type Provider, SOURCE_NAME, VARIABLE_REFERENCE } from "@keel/protocol/names";
import { standardSecretProblem } from "@keel/protocol/webhooks";
import { z } from "zod";
import { KeelError } from "../errors.js";
import { checkFlowOptions, validateTarget } from "../queue/validate.js";
import type { SourceDefinition } from "./types.js";

export const DEFAULT_TOLERANCE_SECONDS = 300;
export const DEFAULT_RETENTION_SECONDS = 30 * 86_400;
export const DEFAULT_ROUTE_QUEUE = "intake";

// Providers whose signature covers a timestamp (hmac: only with a timestamp header).
const SIGNS_TIMESTAMP: readonly Provider[] = ["stripe", "standard"];
// Where the built-in providers find their event id and type; only hmac and bearer are configured.
const CONFIGURABLE_FIELDS: readonly Provider[] = ["hmac", "bearer"];

// One definition of a source (@keel/protocol/contracts' SourceInput, which the API validates
// with); the engine adds what the schema cannot say: a route's target checked with its precise
// messages, and the rules between fields.
const route = Route.extend({
  target: z.unknown().superRefine((target, ctx) => {
    try {
      validateTarget(target);
    } catch (err) {
      const detail = (err as KeelError).details?.detail ?? (err as Error).message;
      ctx.addIssue({ code: "custom", message: String(detail) });
    }
  }),
}).superRefine((r, ctx) => {
  // The jobs a route makes must be ones an enqueue accepts: the same rules between flow options.
  try {
    checkFlowOptions(r);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: String((err as KeelError).details?.detail ?? err) });
  }
});

/** A source definition (config file entry or API body), checked as a whole. */
export const sourceDefinitionSchema = SourceInput.extend({
  routes: z.array(route).max(50, "at most 50 routes").optional(),
}).superRefine((def, ctx) => {
  const issue = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: "custom", path, message });
  const { provider } = def;
  if (provider === "hmac" && !def.hmac) issue(["hmac"], "the hmac provider needs hmac: {header, …}");
  if (provider !== "hmac" && def.hmac) issue(["hmac"], `applies to provider hmac only, not ${provider}`);
  if (provider !== "bearer" && def.bearer)
    issue(["bearer"], `applies to provider bearer only, not ${provider}`);
  for (const field of ["eventId", "eventType"] as const) {
    if (def[field] && !CONFIGURABLE_FIELDS.includes(provider)) {
      issue([field], `${provider} sources read it from the provider's own format; remove ${field}`);
    }
  }
  const signsTimestamp = SIGNS_TIMESTAMP.includes(provider) || def.hmac?.timestampHeader !== undefined;
  if (def.toleranceSeconds !== undefined && !signsTimestamp) {
    issue(
      ["toleranceSeconds"],
      "applies only where a timestamp is signed (stripe, standard, hmac with timestampHeader)",
    );
  }
  if (def.hmac) {
    const signed = def.hmac.signed ?? (def.hmac.timestampHeader ? "{timestamp}.{body}" : "{body}");
    const placeholders = signed.match(/\{[^}]*\}/g) ?? [];
    if (placeholders.filter((p) => p === "{body}").length !== 1) {
      issue(["hmac", "signed"], "must contain {body} exactly once");
    } else if (placeholders.some((p) => p !== "{body}" && p !== "{timestamp}")) {
      issue(["hmac", "signed"], "only {body} and {timestamp} can be filled in");
    } else if (signed.includes("{timestamp}") !== (def.hmac.timestampHeader !== undefined)) {
      issue(["hmac", "signed"], "use {timestamp} exactly when timestampHeader is set");
    }
  }
  def.secrets.forEach((s, i) => {
    // References are checked where they are resolved (at start, and when verifying).
    const problem = provider === "standard" && !s.includes("${") ? standardSecretProblem(s) : null;
    if (problem) issue(["secrets", i], `a Standard Webhooks / Svix secret ${problem}`);
  });
});

/** Checks a source definition; throws `invalid_source` naming the first bad field. */
export function validateSource(name: string, definition: unknown): SourceDefinition {
  if (typeof name !== "string" || !SOURCE_NAME.test(name)) {
    throw new KeelError("invalid_source", {
      source: String(name),
      detail: "name: 1–100 letters, digits and _.:- starting with a letter or digit",
    });
  }
  const parsed = sourceDefinitionSchema.safeParse(definition);
  if (!parsed.success) {
    throw new KeelError("invalid_source", { source: name, detail: describeIssue(parsed.error.issues[0]) });
  }
  return parsed.data as SourceDefinition;
}

/** `routes[0].events[1]: …` for one zod issue. */
export function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return "invalid";
  let path = "";
  for (const p of issue.path)
    path += typeof p === "number" ? `[${p}]` : path === "" ? String(p) : `.${String(p)}`;
  const message =
    issue.code === "unrecognized_keys"
      ? `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}: remove or correct them`
      : issue.code === "invalid_type" && /received undefined$/.test(issue.message)
        ? `required (${issue.expected})`
        : issue.message;
  return path ? `${path}: ${message}` : message;
}

/** The environment variables a secret reads through `${VAR}`. */
export function secretVariables(secret: string): string[] {
  return [...secret.matchAll(VARIABLE_REFERENCE)].map((m) => m[1] as string);
}
