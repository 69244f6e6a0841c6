import type { z } from "zod";
import type { ErrorCode } from "../errors.js";
import type { Scope } from "../names.js";

export type Method = "GET" | "POST" | "PUT" | "DELETE";

export interface ResponseSpec {
  description: string;
  schema: z.ZodType;
  /** Default application/json. */
  contentType?: string;
}

/**
 * One route of the HTTP API, defined once: the server validates requests and types its handlers
 * with these schemas and makes the OpenAPI document from them; the SDK's types are derived from
 * them (`RequestBody`, `Query`, `ResponseBody`).
 */
export interface Contract {
  operationId: string;
  method: Method;
  /** Path under /v1, in Fastify syntax (`/jobs/:id`). */
  path: string;
  tag: string;
  summary: string;
  description?: string;
  /** The scope a token needs (`admin` has every scope, `publish` has `read`); null: public. */
  scope: Scope | null;
  params?: z.ZodType;
  query?: z.ZodType;
  headers?: z.ZodType;
  body?: z.ZodType;
  /** An example body for the reference. */
  example?: unknown;
  /** Which of the server's body limits applies; default its general one. */
  bodyLimit?: "job" | "batch";
  /** Answers with a stored response to a repeated Idempotency-Key. */
  idempotent?: boolean;
  /** Successful responses by status. */
  responses: Record<number, ResponseSpec>;
  /** Error codes particular to this route; auth and validation codes are added by the document. */
  errors: readonly ErrorCode[];
}

/**
 * Keeps the literal types of a contract, for handler typing and the SDK's types.
 *
 * @example
 * export const getJob = defineContract({ operationId: "getJob", method: "GET", path: "/jobs/:id", … });
 */
export function defineContract<const C extends Contract>(contract: C): C {
  return contract;
}

/** What a client sends as the body of a contract's request (`z.input`: before defaults and coercion). */
export type RequestBody<C extends { body: z.ZodType }> = z.input<C["body"]>;
/** A query as the server reads it (`z.output`). */
export type Query<C extends { query: z.ZodType }> = z.output<C["query"]>;
/** The body of one of a contract's successful responses, as the client receives it. */
export type ResponseBody<
  C extends { responses: Record<number, { schema: z.ZodType }> },
  S extends keyof C["responses"] & number,
> = z.output<C["responses"][S]["schema"]>;
/** What a client sends for a schema (`z.input`). */
export type Input<S extends z.ZodType> = z.input<S>;
/** What a client receives for a schema (`z.output`). */
export type Output<S extends z.ZodType> = z.output<S>;
