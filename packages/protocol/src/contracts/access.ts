import { z } from "zod";
import { type Contract, defineContract } from "./contract.js";
import { AuditEntry, DIGITS, Limit, NoBody, ScopeSchema, Token, text } from "./schemas.js";

// Who may do what (tokens) and who did what (the audit log). Admin only.

export const createToken = defineContract({
  operationId: "createToken",
  method: "POST",
  path: "/tokens",
  tag: "Tokens",
  summary: "Create an API token (shown once)",
  scope: "admin",
  body: z.strictObject({ name: text(100), scopes: z.array(ScopeSchema).min(1).max(3) }),
  example: { name: "ci", scopes: ["publish"] },
  responses: {
    201: {
      description: "The token: `token` is shown this once; Keel keeps only its hash.",
      schema: z.strictObject({ ...Token.shape, token: z.string() }),
    },
  },
  errors: [],
});

export const listTokens = defineContract({
  operationId: "listTokens",
  method: "GET",
  path: "/tokens",
  tag: "Tokens",
  summary: "Tokens, without their secrets",
  scope: "admin",
  responses: { 200: { description: "Every token.", schema: z.strictObject({ tokens: z.array(Token) }) } },
  errors: [],
});

export const revokeToken = defineContract({
  operationId: "revokeToken",
  method: "DELETE",
  path: "/tokens/:id",
  tag: "Tokens",
  summary: "Revoke a token at once",
  scope: "admin",
  params: z.strictObject({ id: z.string().regex(DIGITS, "must be a token id (digits)") }),
  body: NoBody,
  responses: { 200: { description: "The revoked token.", schema: Token } },
  errors: ["token_not_found"],
});

export const listAudit = defineContract({
  operationId: "listAudit",
  method: "GET",
  path: "/audit",
  tag: "Audit",
  summary: "The audit log, newest first",
  description: "Pass `nextCursor` as `before` for the next page.",
  scope: "admin",
  query: z.strictObject({
    before: z.string().regex(DIGITS, "must be an audit entry id (digits)").optional(),
    limit: Limit,
  }),
  responses: {
    200: {
      description: "One page.",
      schema: z.strictObject({ entries: z.array(AuditEntry), nextCursor: z.string().nullable() }),
    },
  },
  errors: [],
});

export const accessContracts: readonly Contract[] = [createToken, listTokens, revokeToken, listAudit];
