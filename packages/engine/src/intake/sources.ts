import { DEFAULT_BODY_LIMIT_BYTES, SOURCE_NAME } from "@keel/protocol/names";
import { auditChange } from "../audit/actions.js";
import type { Client, MutationOptions } from "../db/mutation.js";
import type { Engine } from "../engine.js";
import { KeelError } from "../errors.js";
import type { JobTarget } from "../queue/types.js";
import { routeFlow } from "./routes.js";
import type {
  Provider,
  Rejection,
  RejectionRecord,
  Source,
  SourceRoute,
  SourceRouteInput,
  SourceSettings,
} from "./types.js";
import { DEFAULT_RETENTION_SECONDS, DEFAULT_ROUTE_QUEUE, validateSource } from "./validate.js";

/** What a write did: `unchanged` when the stored definition was already the same. */
export type SourceChange = "created" | "updated" | "unchanged";

interface SourceRow {
  name: string;
  provider: Provider;
  secrets: string[];
  settings: SourceSettings;
  routes: SourceRoute[];
  body_limit_bytes: number;
  retention_seconds: number;
  managed_by: "config" | "api";
  created_at: Date;
  updated_at: Date;
}

/**
 * Webhook sources (`/in/<name>`), declared in the config file (`managedBy: "config"`) or made
 * through the API. A source the config file declares cannot be changed or removed through the
 * API: the next start would undo it.
 *
 * @example
 * await engine.intake.sources.put("stripe", {
 *   provider: "stripe", secrets: ["${STRIPE_WEBHOOK_SECRET}"],
 *   routes: [{ events: ["invoice.*"], target: { url: "https://app.example.com/hooks/stripe" } }],
 * }, { managedBy: "api" });
 */
export class Sources {
  constructor(private readonly engine: Engine) {}

  /**
   * Creates or replaces a source. Throws `invalid_source`, or `source_managed_by_config` for an
   * API write. A change writes its `source.put` audit row (how many secrets, never them) in its
   * transaction: the caller's with `client`.
   */
  async put(
    name: string,
    definition: unknown,
    options: MutationOptions & { managedBy: "config" | "api" },
  ): Promise<{ source: Source; change: SourceChange }> {
    const def = validateSource(name, definition);
    const settings: SourceSettings = {};
    for (const key of ["toleranceSeconds", "hmac", "bearer", "eventId", "eventType"] as const) {
      if (def[key] !== undefined) Object.assign(settings, { [key]: def[key] });
    }
    const routes: SourceRoute[] = (def.routes ?? []).map((r) => ({
      events: r.events ?? ["*"],
      target: r.target as JobTarget,
      queue: r.queue ?? DEFAULT_ROUTE_QUEUE,
      ...routeFlow(r as SourceRouteInput),
    }));
    // Jobs need their queue to exist; creating it here keeps the intake path free of it.
    const queues = routes.map((r) => r.queue);
    if (!options.client) await this.engine.ensureQueues(queues);
    return this.engine.transaction(async (client) => {
      const [row] = await this.engine.runOn<SourceRow & { created: boolean }>(
        client,
        "intake_upsert_source",
        [
          name,
          def.provider,
          def.secrets,
          JSON.stringify(settings),
          JSON.stringify(routes),
          def.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
          def.retentionSeconds ?? DEFAULT_RETENTION_SECONDS,
          options.managedBy,
          options.managedBy === "api",
        ],
      );
      if (row) {
        if (options.client) await this.engine.ensureQueues(queues, client);
        const source = toSource(row);
        const change = row.created ? "created" : "updated";
        await this.engine.writeAudit(
          client,
          options,
          auditChange("source.put", `source:${name}`, {
            change,
            provider: source.provider,
            secrets: source.secrets.length,
            routes: source.routes.length,
          }),
        );
        return { source, change };
      }
      const existing = await this.get(name, client);
      if (options.managedBy === "api" && existing.managedBy === "config") {
        throw new KeelError("source_managed_by_config", { source: name });
      }
      return { source: existing, change: "unchanged" };
    }, options);
  }

  /**
   * Removes a source (its events stay until retention), with its `source.delete` audit row in the
   * same transaction. Throws `source_not_found`, or `source_managed_by_config` for an API call.
   */
  async remove(name: string, options: MutationOptions & { managedBy: "config" | "api" }): Promise<void> {
    await this.engine.transaction(async (client) => {
      const rows = await this.engine.runOn(client, "intake_delete_source", [
        name,
        options.managedBy === "api",
      ]);
      if (rows.length > 0) {
        await this.engine.writeAudit(client, options, { action: "source.delete", target: `source:${name}` });
        return;
      }
      const existing = await this.get(name, client);
      if (existing.managedBy === "config") throw new KeelError("source_managed_by_config", { source: name });
    }, options);
  }

  /** One source (as `client` sees it, when given); throws `source_not_found`. */
  async get(name: string, client?: Client): Promise<Source> {
    if (typeof name !== "string" || !SOURCE_NAME.test(name)) {
      throw new KeelError("source_not_found", { source: String(name) });
    }
    const [row] = client
      ? await this.engine.runOn<SourceRow>(client, "intake_list_sources", [name])
      : await this.engine.run<SourceRow>("intake_list_sources", [name]);
    if (!row) throw new KeelError("source_not_found", { source: name });
    return toSource(row);
  }

  /** Every source, by name. */
  async list(): Promise<Source[]> {
    return (await this.engine.run<SourceRow>("intake_list_sources", [null])).map(toSource);
  }

  /** Keeps refused requests for debugging (the newest 100 per source). */
  async recordRejections(rejections: Rejection[]): Promise<void> {
    if (rejections.length === 0) return;
    await this.engine.run("intake_insert_rejections", [
      rejections.map((r) => r.source),
      rejections.map((r) => r.reason),
      rejections.map((r) => r.detail),
      rejections.map((r) => JSON.stringify(r.headers)),
      rejections.map((r) => storableSize(r.bodySize)),
      rejections.map((r) => r.requestId),
    ]);
  }

  /** The newest refused requests of a source, newest first. */
  async rejections(source: string, limit = 100): Promise<RejectionRecord[]> {
    const rows = await this.engine.run<{
      id: string;
      source: string;
      at: Date;
      reason: string;
      detail: string | null;
      headers: Record<string, string>;
      body_size: string | null;
      request_id: string | null;
    }>("intake_list_rejections", [source, limit]);
    return rows.map((r) => ({
      id: r.id,
      source: r.source,
      at: r.at,
      reason: r.reason,
      detail: r.detail,
      headers: r.headers,
      bodySize: r.body_size === null ? null : Number(r.body_size),
      requestId: r.request_id,
    }));
  }
}

/** A size as the bigint column takes it: whole, not negative, at most 2^53 - 1 (a declared length can be anything). */
function storableSize(size: number | null): number | null {
  if (size === null || Number.isNaN(size)) return null;
  return Math.min(Math.max(0, Math.trunc(size)), Number.MAX_SAFE_INTEGER);
}

function toSource(r: SourceRow): Source {
  return {
    name: r.name,
    provider: r.provider,
    secrets: r.secrets,
    settings: r.settings,
    routes: r.routes,
    bodyLimitBytes: r.body_limit_bytes,
    retentionSeconds: r.retention_seconds,
    managedBy: r.managed_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
