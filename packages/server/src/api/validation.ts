import type { FastifySchemaCompiler } from "fastify";
import type { z } from "zod";
import { type AnyErrorCode, ApiError } from "./errors.js";

type Part = "body" | "querystring" | "params" | "headers";
type Issue = z.core.$ZodIssue;

const LABEL: Record<Part, string> = {
  body: "",
  querystring: "query parameter ",
  params: "path parameter ",
  headers: "header ",
};

/**
 * Fastify validator compiler for zod schemas: the schema in a route's `schema.body` (or
 * params, querystring, headers) is the one that validates it, and the one the OpenAPI document
 * shows. Failures become ApiErrors with the registry's codes.
 */
export const zodValidatorCompiler: FastifySchemaCompiler<z.ZodType> = ({ schema, httpPart }) => {
  const part = (httpPart ?? "body") as Part;
  return (data: unknown) => {
    const result = schema.safeParse(data);
    if (result.success) return { value: result.data };
    return { error: toApiError(result.error.issues, part, schema) };
  };
};

/** The first issue, as an error that names the field and what to change. */
export function toApiError(issues: readonly Issue[], part: Part, schema: z.ZodType): ApiError {
  const [issue, base] = pick(issues, []);
  const path = [...base, ...issue.path];
  const where = `${LABEL[part]}${formatPath(path) || (part === "body" ? "body" : "")}`;
  if (issue.code === "unrecognized_keys") {
    return new ApiError("unknown_option", {
      option: [formatPath(path), issue.keys[0]].filter(Boolean).join("."),
      accepted: acceptedKeys(schema, path),
    });
  }
  const params = (issue.code === "custom" ? issue.params : undefined) as
    | { keelCode?: AnyErrorCode; at?: string }
    | undefined;
  const code: AnyErrorCode =
    params?.keelCode ?? (part === "body" && path.includes("target") ? "invalid_target" : "invalid_argument");
  const detail = `${where}${params?.at ?? ""}: ${issue.message}`;
  return new ApiError(code, { detail });
}

/** For a failed union, the branch that came closest: fewest issues, then the deepest path. */
function pick(issues: readonly Issue[], base: PropertyKey[]): [Issue, PropertyKey[]] {
  const first = issues[0] as Issue;
  if (first.code !== "invalid_union" || first.errors.length === 0) return [first, base];
  const branches = [...first.errors].sort(
    (a, b) => a.length - b.length || (b[0]?.path.length ?? 0) - (a[0]?.path.length ?? 0),
  );
  return pick(branches[0] as Issue[], [...base, ...first.path]);
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out === "" ? String(p) : `.${String(p)}`;
  return out;
}

/** The keys the object at `path` accepts ("a, b | c" across union branches). */
function acceptedKeys(schema: z.ZodType, path: readonly PropertyKey[]): string {
  let nodes: z.core.$ZodType[] = [schema];
  for (const key of [...path, undefined]) {
    const next: z.core.$ZodType[] = [];
    for (const node of nodes.flatMap(unwrap)) {
      const def = node._zod.def as z.core.$ZodTypeDef & Record<string, unknown>;
      if (key === undefined) next.push(node);
      else if (def.type === "object") {
        const child = (def.shape as Record<string, z.core.$ZodType>)[String(key)];
        if (child) next.push(child);
      } else if (def.type === "array" && typeof key === "number") next.push(def.element as z.core.$ZodType);
      else if (def.type === "record") next.push(def.valueType as z.core.$ZodType);
    }
    nodes = next;
  }
  const objects = nodes.filter((n) => n._zod.def.type === "object");
  if (objects.length === 0) return "see GET /v1/openapi.json";
  return objects
    .map((n) => Object.keys((n._zod.def as unknown as { shape: object }).shape).join(", ") || "none")
    .join(" | ");
}

/** Looks through optional, nullable, pipes and unions to the schemas that hold keys. */
function unwrap(node: z.core.$ZodType): z.core.$ZodType[] {
  const def = node._zod.def as z.core.$ZodTypeDef & Record<string, unknown>;
  switch (def.type) {
    case "optional":
    case "nullable":
    case "default":
    case "readonly":
      return unwrap(def.innerType as z.core.$ZodType);
    case "pipe":
      return unwrap(def.in as z.core.$ZodType);
    case "union":
      return (def.options as z.core.$ZodType[]).flatMap(unwrap);
    default:
      return [node];
  }
}
