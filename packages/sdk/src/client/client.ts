import { type Call, caller } from "./call.js";
import { AuditApi, JobsApi, QueuesApi, RateLimitsApi, SwitchesApi, TokensApi } from "./resources.js";
import { EventsApi, SourcesApi } from "./resources-intake.js";
import { SchedulesApi, TenantsApi } from "./resources-schedules.js";
import { type CallOptions, type ClientOptions, type RequestSpec, Transport } from "./transport.js";
import type { DoctorReport } from "./types.js";

/**
 * A typed client for Keel's HTTP API (`/v1`). Errors are `KeelApiError` subclasses carrying the
 * registry's stable `code`, or `KeelNetworkError` when no answer came. Create calls carry an
 * `Idempotency-Key` (one per call, reused by its retries); reads and other repeatable calls are
 * retried on network errors and 5xx with backoff.
 *
 * @example
 * const keel = new KeelClient({ baseUrl: "http://localhost:7070", token: process.env.KEEL_TOKEN });
 * const { id } = await keel.jobs.create({ queue: "email", target: { handler: "sendWelcome" }, payload: { userId: 42 } });
 * const job = await keel.jobs.get(id);
 */
export class KeelClient {
  readonly jobs: JobsApi;
  readonly queues: QueuesApi;
  readonly switches: SwitchesApi;
  readonly tokens: TokensApi;
  readonly audit: AuditApi;
  readonly rateLimits: RateLimitsApi;
  readonly schedules: SchedulesApi;
  readonly tenants: TenantsApi;
  readonly events: EventsApi;
  readonly sources: SourcesApi;
  private readonly transport: Transport;
  private readonly call: Call;

  constructor(options: ClientOptions) {
    this.transport = new Transport(options);
    const call = caller((spec) => this.transport.send(spec));
    this.call = call;
    this.jobs = new JobsApi(call);
    this.queues = new QueuesApi(call);
    this.switches = new SwitchesApi(call);
    this.tokens = new TokensApi(call);
    this.audit = new AuditApi(call);
    this.rateLimits = new RateLimitsApi(call);
    this.schedules = new SchedulesApi(call);
    this.tenants = new TenantsApi(call);
    this.events = new EventsApi(call);
    this.sources = new SourcesApi(call);
  }

  /**
   * Any `/v1` route, for routes newer than this SDK: same auth, retries and typed errors.
   *
   * @example
   * const page = await keel.request<{ runs: unknown[] }>({ method: "GET", path: "/schedules/nightly/runs" });
   */
  request<T = unknown>(spec: RequestSpec): Promise<T> {
    return this.transport.send<T>(spec);
  }

  /**
   * The production-readiness checks of `keel doctor`, run by the server that answers (scope
   * `read`). `probes: false` leaves out the live requests to targets.
   *
   * @example
   * const report = await keel.doctor();
   * for (const c of report.checks) if (c.status === "fail") console.error(c.id, c.seen, c.fix);
   */
  doctor(query: { probes?: boolean } = {}, options: CallOptions = {}): Promise<DoctorReport> {
    return this.call("getDoctor", { query: query.probes === false ? { probes: "false" } : {}, ...options });
  }

  /** The OpenAPI 3.1 document of the server this client talks to. */
  openApi(options: CallOptions = {}): Promise<Record<string, unknown>> {
    return this.request({ method: "GET", path: "/openapi.json", ...options });
  }
}
