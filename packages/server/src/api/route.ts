import type { Client } from "@keel/engine";
import type { Contract } from "@keel/protocol/contracts";
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from "fastify";
import type { z } from "zod";
import type { Principal } from "./auth.js";
import type { HeldKey } from "./idempotency.js";

// The runtime-neutral part of a route (its schemas, scope, responses) is the protocol's contract;
// this file adds what Fastify needs to serve it.
export type { Contract, Method, ResponseSpec } from "@keel/protocol/contracts";
export { defineContract } from "@keel/protocol/contracts";

type Parsed<C extends Contract, K extends "params" | "query" | "body"> = C[K] extends z.ZodType
  ? z.output<C[K]>
  : undefined;

/** What a handler answers: one of the contract's statuses with a body of its schema. */
export type Result<C extends Contract> = {
  [S in keyof C["responses"] & number]: { status: S; body: z.input<C["responses"][S]["schema"]> };
}[keyof C["responses"] & number];

export interface Call<C extends Contract> {
  params: Parsed<C, "params">;
  query: Parsed<C, "query">;
  body: Parsed<C, "body">;
  /** Null on public routes. */
  principal: Principal | null;
  request: FastifyRequest;
  reply: FastifyReply;
  /**
   * The transaction the request's change joins, when the runner opened one (an Idempotency-Key
   * request: its record commits with the change); else each engine mutation is its own.
   */
  client?: Client;
  /**
   * The Idempotency-Key the request holds, on a route mounted with `keyedWrite`: the handler's
   * one write stores the response with its change (`keyedWrite(call.held, respond)`).
   */
  held?: HeldKey;
}

/** How a route is served beyond its contract. */
export interface RouteOptions {
  /**
   * The handler makes its change in one engine write that can store an Idempotency-Key response
   * in its own transaction (`engine.enqueue`'s `idempotency`, group-committed): a keyed request
   * gets no transaction of its own, so concurrent ones share commits (decision 063).
   */
  keyedWrite?: boolean;
}

export type Handler<C extends Contract> = (call: Call<C>) => Promise<Result<C>>;

/** Runs a handler; the API's wrapper (idempotency, sending) decides what happens with the result. */
export type Runner = (
  contract: Contract,
  call: Call<Contract>,
  run: () => Promise<{ status: number; body: unknown }>,
  options: RouteOptions,
) => Promise<unknown>;

/**
 * Registers a contract's route: `mount(contract)(handler)`. Two steps so the contract fixes the
 * handler's types before the handler is checked (status literals stay literal).
 */
export type Mount = <C extends Contract>(
  contract: C,
  options?: RouteOptions,
) => (handler: Handler<C>) => void;

/** The `mount` of one Fastify context; `bodyLimits` maps each contract's choice to bytes. */
export function mounter(
  app: FastifyInstance,
  bodyLimits: Record<"default" | "job" | "batch", number>,
  principalOf: (request: FastifyRequest) => Principal | null,
  runner: Runner,
): Mount {
  return (contract, options = {}) =>
    (handler) => {
      const schema: FastifySchema = {};
      if (contract.params) schema.params = contract.params;
      if (contract.query) schema.querystring = contract.query;
      if (contract.headers) schema.headers = contract.headers;
      if (contract.body) schema.body = contract.body;
      app.route({
        method: contract.method,
        url: contract.path,
        schema,
        bodyLimit: bodyLimits[contract.bodyLimit ?? "default"],
        config: { contract },
        handler: async (request, reply) => {
          const call = {
            params: request.params,
            query: request.query,
            body: request.body,
            principal: principalOf(request),
            request,
            reply,
          } as Call<typeof contract>;
          return runner(contract, call as Call<Contract>, () => handler(call), options);
        },
      });
    };
}

/** The contract of the route a request matched; undefined for 404s. */
export function contractOf(request: FastifyRequest): Contract | undefined {
  return (request.routeOptions.config as { contract?: Contract }).contract;
}
