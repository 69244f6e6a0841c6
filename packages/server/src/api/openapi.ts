import { ErrorEnvelope } from "@keel/protocol/contracts";
import { z } from "zod";
import { PACKAGE_VERSION } from "../generated/version.js";
import { type AnyErrorCode, errorStatus } from "./errors.js";
import type { Contract } from "./route.js";

export type JsonSchema = Record<string, unknown>;

export interface OpenApiParameter {
  name: string;
  in: "path" | "query" | "header";
  required: boolean;
  description?: string;
  schema: JsonSchema;
}

/** The JSON Schema (2020-12, as OpenAPI 3.1 uses) of what a zod schema accepts or produces. */
export function jsonSchemaOf(schema: z.ZodType, io: "input" | "output" = "input"): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as JsonSchema;
  return rest;
}

/** The OpenAPI parameters an object schema of path, query or header values describes. */
export function parametersOf(
  schema: z.ZodType | undefined,
  where: OpenApiParameter["in"],
): OpenApiParameter[] {
  if (!schema) return [];
  const json = jsonSchemaOf(schema);
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = (json.required ?? []) as string[];
  return Object.entries(properties).map(([name, s]) => {
    const { description, ...rest } = s;
    return {
      name,
      in: where,
      required: where === "path" || required.includes(name),
      ...(typeof description === "string" ? { description } : {}),
      schema: rest,
    };
  });
}

/** Full OpenAPI path: `/jobs/:id` → `/v1/jobs/{id}`. */
export function openApiPath(prefix: string, path: string): string {
  return prefix + path.replace(/:(\w+)/g, "{$1}");
}

/** Every error code a route can answer: its own plus those of auth, validation and body parsing. */
export function errorCodesOf(c: Contract): AnyErrorCode[] {
  const codes = new Set<AnyErrorCode>(c.errors);
  if (c.scope !== null) {
    codes.add("unauthorized");
    if (c.scope !== "read") codes.add("forbidden");
    codes.add("too_many_requests");
  }
  if (c.params || c.query || c.body || c.headers) codes.add("invalid_argument");
  if (c.query || c.body) codes.add("unknown_option");
  if (c.body) {
    codes.add("payload_too_large");
    codes.add("unsupported_media_type");
  }
  return [...codes];
}

function operation(c: Contract): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  for (const [status, spec] of Object.entries(c.responses)) {
    const type = spec.contentType ?? "application/json";
    const schema = type === "application/json" ? jsonSchemaOf(spec.schema, "output") : { type: "string" };
    const headers = c.idempotent
      ? { "Idempotent-Replayed": { description: "`true` on a stored response.", schema: { type: "string" } } }
      : undefined;
    responses[status] = {
      description: spec.description,
      ...(headers ? { headers } : {}),
      content: { [type]: { schema } },
    };
  }
  const byStatus = new Map<number, AnyErrorCode[]>();
  for (const code of errorCodesOf(c))
    byStatus.set(errorStatus(code), [...(byStatus.get(errorStatus(code)) ?? []), code]);
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[String(status)] = {
      description: codes.map((code) => `\`${code}\``).join(", "),
      "x-error-codes": codes,
      content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
    };
  }
  const scope = c.scope === null ? "Public." : `Needs a token with scope \`${c.scope}\` (or \`admin\`).`;
  const op: Record<string, unknown> = {
    operationId: c.operationId,
    summary: c.summary,
    description: [c.description, scope].filter(Boolean).join("\n\n"),
    tags: [c.tag],
    security: c.scope === null ? [] : [{ bearer: [] }],
    "x-keel-scope": c.scope,
  };
  const parameters = [
    ...parametersOf(c.params, "path"),
    ...parametersOf(c.query, "query"),
    ...parametersOf(c.headers, "header"),
  ];
  if (parameters.length > 0) op.parameters = parameters;
  if (c.body) {
    const optional = c.body.safeParse(undefined).success || c.body.safeParse(null).success;
    const media: Record<string, unknown> = { schema: jsonSchemaOf(c.body) };
    if (c.example !== undefined) media.example = c.example;
    op.requestBody = { required: !optional, content: { "application/json": media } };
  }
  op.responses = responses;
  return op;
}

/**
 * The OpenAPI 3.1 document of the given contracts, served at /v1/openapi.json. Built from the
 * same zod schemas Fastify validates with, so the two cannot drift (test/api.test.ts checks).
 */
export function buildOpenApi(contracts: readonly Contract[], prefix = "/v1"): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const c of contracts) {
    const path = openApiPath(prefix, c.path);
    paths[path] = { ...paths[path], [c.method.toLowerCase()]: operation(c) };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Keel API",
      version: PACKAGE_VERSION,
      description:
        "Durable jobs on Postgres. Send `Authorization: Bearer <token>`. Every error is " +
        '`{"error":{"code","message"}}` with a stable code (docs/reference/errors.md).',
    },
    tags: [...new Set(contracts.map((c) => c.tag))].map((name) => ({ name })),
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "A Keel API token." } },
      schemas: { Error: jsonSchemaOf(ErrorEnvelope, "output") },
    },
  };
}
