import { z } from "zod";
import { POLICY_NAME } from "../names.js";
import { type Contract, defineContract } from "./contract.js";
import { text } from "./schemas.js";

// The rate limiter for applications not written in Node: the same limiter as @keel/sdk/ratelimit, over
// the policies of the config file's `policies:` map.

export const RateLimitCheck = z.strictObject({
  policy: z.string().regex(POLICY_NAME, "1–64 letters, digits and _.-: a policy of the config file"),
  key: text(1024).meta({
    description: "Whose quota: a user id, a hashed token, an address (group IPv6 by /64).",
  }),
  cost: z
    .number()
    .int()
    .min(0)
    .max(1_000_000_000)
    .optional()
    .meta({ description: "Units this request spends; default 1. 0 reads the state without spending." }),
});

export const RateLimitResult = z.strictObject({
  allowed: z.boolean(),
  policy: z.string(),
  limit: z.number().int().meta({
    description: "The quota per window in force (the per-replica share while the fallback decides).",
  }),
  remaining: z.number().int().meta({ description: "Units left (after this request when allowed)." }),
  resetSeconds: z.number().int().meta({ description: "Seconds until the key is back at its full quota." }),
  retryAfterSeconds: z
    .number()
    .int()
    .optional()
    .meta({ description: "When refused: seconds before a retry can pass." }),
  failMode: z
    .enum(["open", "closed", "fallback"])
    .optional()
    .meta({ description: "Present when the store failed and the policy's fail mode decided." }),
});

export const checkRateLimit = defineContract({
  operationId: "checkRateLimit",
  method: "POST",
  path: "/ratelimit/check",
  tag: "Rate limits",
  summary: "Check and spend a rate limit",
  description:
    "Charges `cost` units of `key`'s quota under a policy declared in the config file (GCRA; Redis when REDIS_URL is set, else Postgres). A refusal is still 200, with `allowed: false` and `retryAfterSeconds`: the check worked, the caller decides what to answer. The response carries the policy's `RateLimit-Policy` and `RateLimit` headers (draft-ietf-httpapi-ratelimit-headers-10), ready to copy onto the caller's own response.",
  scope: "publish",
  body: RateLimitCheck,
  example: { policy: "api", key: "user:42" },
  responses: { 200: { description: "The decision.", schema: RateLimitResult } },
  errors: ["policy_not_found"],
});

export const rateLimitContracts: readonly Contract[] = [checkRateLimit];
