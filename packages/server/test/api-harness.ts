import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after } from "node:test";
import { ErrorEnvelope } from "@keel/protocol/contracts";
import Fastify, { type FastifyInstance, type InjectOptions, type LightMyRequestResponse } from "fastify";
import type { AuditRecord, Engine } from "../../engine/src/index.js";
import { testEngine } from "../../engine/test/helpers.js";
import { type ApiOptions, registerApi } from "../src/api/index.js";
import { errorCodesOf } from "../src/api/openapi.js";
import type { Contract } from "../src/api/route.js";

export interface ContractCheckedApi {
  admin: string;
  engine: Engine;
  app: FastifyInstance;
  call(
    method: InjectOptions["method"],
    url: string,
    payload?: object,
    headers?: object,
  ): Promise<LightMyRequestResponse>;
  lastAudit(): Promise<AuditRecord | undefined>;
}

/**
 * The API on a fresh engine, with a check that fails the file when any answer differs from its
 * contract: the documented schema for its status, or a documented error code in the envelope.
 * Call once at the top level of a test file.
 */
export async function contractCheckedApi(
  options: {
    payloadLimitBytes?: number;
    /** The limiter behind POST /v1/ratelimit/check, built on the harness's engine. */
    rateLimiter?: (engine: Engine) => ApiOptions["rateLimiter"];
    /** KEEL_TARGET_VARIABLES: the `${VAR}`s targets written through the API may use. */
    targetVariables?: readonly string[];
  } = {},
): Promise<ContractCheckedApi> {
  const { rateLimiter, ...apiOptions } = options;
  const admin = `admin-${randomBytes(24).toString("hex")}`;
  const engine = await testEngine(
    options.payloadLimitBytes ? { payloadLimitBytes: options.payloadLimitBytes } : {},
  );
  const app = Fastify();
  const drift: string[] = [];
  app.addHook("onSend", async (request, reply, payload) => {
    const contract = (request.routeOptions.config as { contract?: Contract }).contract;
    if (!contract || typeof payload !== "string") return payload;
    const body = JSON.parse(payload);
    const spec = contract.responses[reply.statusCode];
    if (spec && !spec.schema.safeParse(body).success)
      drift.push(`${contract.operationId} ${reply.statusCode}`);
    if (!spec && !errorCodesOf(contract).includes(body.error?.code)) {
      drift.push(`${contract.operationId} ${reply.statusCode} ${body.error?.code}`);
    }
    if (!spec && !ErrorEnvelope.safeParse(body).success) drift.push(`${contract.operationId} envelope`);
    return payload;
  });
  registerApi(app, {
    engine,
    adminToken: admin,
    production: false,
    ...apiOptions,
    rateLimiter: rateLimiter?.(engine),
  });
  await app.ready();
  after(() => app.close());
  after(() => assert.deepEqual(drift, [], "answers that differ from their contract"));

  /** A request as the admin. */
  const call = (method: InjectOptions["method"], url: string, payload?: object, headers = {}) =>
    app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${admin}`, ...headers },
      ...(payload ? { payload } : {}),
    });
  const lastAudit = async () => (await engine.auditLog.list({ limit: 1 }))[0];
  return { admin, engine, app, call, lastAudit };
}
