import { z } from "zod";
import { accessContracts } from "./access.js";
import { type Contract, defineContract } from "./contract.js";
import { doctorContracts } from "./doctor.js";
import { intakeContracts } from "./intake.js";
import { jobContracts } from "./jobs.js";
import { operationContracts } from "./operations.js";
import { rateLimitContracts } from "./ratelimit.js";
import { scheduleContracts } from "./schedules.js";

// Every /v1 route is a contract here; the server's handlers live in packages/server/src/api/routes/.

export * from "./access.js";
export * from "./contract.js";
export * from "./doctor.js";
export * from "./flow.js";
export * from "./intake.js";
export * from "./jobs.js";
export * from "./operations.js";
export * from "./ratelimit.js";
export * from "./schedules.js";
export * from "./schemas.js";

export const openApiDocument = defineContract({
  operationId: "getOpenApi",
  method: "GET",
  path: "/openapi.json",
  tag: "Reference",
  summary: "This API as an OpenAPI 3.1 document",
  scope: null,
  responses: { 200: { description: "The document.", schema: z.record(z.string(), z.unknown()) } },
  errors: [],
});

export const docsPage = defineContract({
  operationId: "getDocs",
  method: "GET",
  path: "/docs",
  tag: "Reference",
  summary: "This reference as an HTML page",
  scope: null,
  responses: { 200: { description: "The page.", schema: z.string(), contentType: "text/html" } },
  errors: [],
});

/** Every contract, in the order of the reference. */
export const CONTRACTS: readonly Contract[] = [
  openApiDocument,
  docsPage,
  ...jobContracts,
  ...operationContracts,
  ...scheduleContracts,
  ...accessContracts,
  ...intakeContracts,
  ...rateLimitContracts,
  ...doctorContracts,
];
