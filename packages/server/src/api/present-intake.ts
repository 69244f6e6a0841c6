import { createHash } from "node:crypto";
import {
  type EventRecord,
  type EventSummary,
  type RejectionRecord,
  routeFlow,
  type Source,
} from "@keel/engine";
import type { getEvent, getSource, listEvents, listRejections } from "@keel/protocol/contracts";
import { VARIABLE_REFERENCE } from "@keel/protocol/names";
import type { z } from "zod";
import { redactHeaders } from "../intake/headers.js";
import { presentSummary, presentTarget } from "./present.js";

// Intake records as the API shows them: secrets never, credential-like headers redacted.

type Out<C extends { responses: Record<number, { schema: z.ZodType }> }, S extends number> = z.input<
  C["responses"][S]["schema"]
>;

const iso = (d: Date | string) => new Date(d).toISOString();

export function presentEventSummary(e: EventSummary): Out<typeof listEvents, 200>["events"][number] {
  return {
    id: e.id,
    source: e.source,
    eventId: e.eventId,
    type: e.type,
    contentType: e.contentType,
    size: e.size,
    status: e.status,
    verification: e.verification,
    receivedAt: iso(e.receivedAt),
    routedAt: iso(e.routedAt),
    jobsCreated: e.jobsCreated,
    replays: e.replays,
  };
}

export function presentEvent(e: EventRecord): Out<typeof getEvent, 200> {
  const text = utf8(e.body);
  return {
    ...presentEventSummary(e),
    headers: redactHeaders(e.headers),
    body: text ?? e.body.toString("base64"),
    bodyEncoding: text === undefined ? "base64" : "utf8",
    deliveries: e.deliveries.map(presentSummary),
  };
}

function utf8(body: Buffer): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    return undefined;
  }
}

/**
 * A source without its secrets: each shows as its `${VAR}` reference (or null when stored) and
 * a fingerprint (8 hex digits of SHA-256) of the value, so operators can tell secrets apart.
 */
export function presentSource(s: Source, env: NodeJS.ProcessEnv): Out<typeof getSource, 200> {
  return {
    name: s.name,
    url: `/in/${s.name}`,
    provider: s.provider,
    secrets: s.secrets.map((secret) => {
      const reference = secret.includes("${") ? secret : null;
      let unset = false;
      const value = secret.replace(VARIABLE_REFERENCE, (_, name: string) => {
        const v = env[name];
        if (v === undefined || v === "") unset = true;
        return v ?? "";
      });
      return { reference, fingerprint: unset ? null : fingerprint(value) };
    }),
    ...s.settings,
    routes: s.routes.map((r) => ({
      events: r.events,
      target: presentTarget(r.target),
      queue: r.queue,
      ...routeFlow(r),
    })),
    bodyLimitBytes: s.bodyLimitBytes,
    retentionSeconds: s.retentionSeconds,
    managedBy: s.managedBy,
    createdAt: iso(s.createdAt),
    updatedAt: iso(s.updatedAt),
  } as Out<typeof getSource, 200>;
}

function fingerprint(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex").slice(0, 8);
}

export function presentRejection(r: RejectionRecord): Out<typeof listRejections, 200>["rejections"][number] {
  return {
    id: r.id,
    at: iso(r.at),
    reason: r.reason,
    detail: r.detail,
    headers: r.headers,
    bodySize: r.bodySize,
    requestId: r.requestId,
  };
}
