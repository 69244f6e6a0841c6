import { createToken, listAudit, listTokens, revokeToken } from "@keel/protocol/contracts";
import { presentAudit, presentToken } from "../present.js";
import type { RouteDeps } from "./deps.js";

/** Tokens and the audit log: who may do what, and who did what. */
export function accessRoutes({ engine, mount, as }: RouteDeps): void {
  mount(createToken)(async (call) => {
    const { name, scopes } = call.body;
    // The secret goes to the caller once and nowhere else: not to the audit log, not to logs.
    const created = await engine.tokens.create({ name, scopes }, as(call));
    return { status: 201, body: { ...presentToken(created), token: created.token } };
  });

  mount(listTokens)(async () => ({
    status: 200,
    body: { tokens: (await engine.tokens.list()).map(presentToken) },
  }));

  mount(revokeToken)(async (call) => {
    const revoked = await engine.tokens.revoke(call.params.id, as(call));
    return { status: 200, body: presentToken(revoked) };
  });

  mount(listAudit)(async ({ query }) => {
    const limit = query.limit ?? 50;
    const entries = await engine.auditLog.list({ before: query.before, limit });
    const last = entries.length === limit ? entries[entries.length - 1] : undefined;
    return {
      status: 200,
      body: { entries: entries.map(presentAudit), nextCursor: last ? String(last.id) : null },
    };
  });
}
