import {
  DEFAULT_ATTEMPT_TIMEOUT_MS,
  type Engine,
  HTTP_HANDLER,
  type HttpTarget,
  type JobContext,
  KeelError,
  Worker,
  type WorkerOptions,
} from "@keel/engine";
import type { Agent } from "undici";
import type { DeliveryStatusClass } from "../metrics/index.js";
import type { QStashSigningKeys } from "../qstash/signature.js";
import { type Allowlist, parseAllowlist } from "./allowlist.js";
import { createDeliveryAgent, type Resolver } from "./connector.js";
import { DeliveryRefusedError } from "./errors.js";
import type { VariableAccess } from "./headers.js";
import { type DeliveryResult, type ForwardedEvent, sendDelivery } from "./request.js";
import { parseSigningSecrets } from "./signing.js";

export interface DeliveryOptions {
  /** `whsec_…` secrets, newest first; every one signs each request (rotation). */
  signingSecrets: readonly string[];
  /** KEEL_QSTASH_*_SIGNING_KEY: sign `signing: "qstash"` targets (docs/qstash.md). Default none. */
  qstashKeys?: QStashSigningKeys | undefined;
  /** Production refuses loopback and private addresses too (see ssrf.ts). */
  production: boolean;
  /** KEEL_TARGET_ALLOWLIST: its entries, or the parsed list. */
  allowlist?: string | readonly string[] | Allowlist;
  /**
   * Per attempt: connect, response headers and recorded body together, for jobs whose target
   * and queue set no timeout (a target's `timeoutMs` wins, then the queue's). Default 30 s.
   */
  timeoutMs?: number;
  /** The queue's `deliveryTimeoutMs` (null: none); startDeliveryWorker reads it from the engine. */
  queueTimeoutMs?: (queue: string) => Promise<number | null>;
  /** Which variables `${VAR}` in target headers may read (default: none; see headers.ts). */
  variables?: VariableAccess;
  /** DNS resolver; tests inject one. Default: the system resolver. */
  resolve?: Resolver;
  /** Sees every attempt's result (for metrics: see `deliveryStatusClass`). Must not throw. */
  onResult?: (result: DeliveryResult, ctx: JobContext) => void;
  /** Where jobs made by webhook intake read the event they forward (the engine's `intake.events`). */
  events?: Pick<Engine["intake"]["events"], "payload">;
}

/** The `@http` handler: call it per job; `close()` ends its keep-alive connections. */
export type DeliveryHandler = ((ctx: JobContext) => Promise<void>) & { close(): Promise<void> };

/**
 * The handler that delivers HTTP jobs: one signed request per attempt, whose outcome is
 * recorded with the attempt and steers the retry through the error it throws (410: dead;
 * 429/503 with Retry-After: that delay; anything else failing: the job's backoff).
 *
 * @example
 * const deliver = createDeliveryHandler({ signingSecrets: ["whsec_…"], production: true });
 * const worker = createWorker({ engine, queues: ["hooks"], handlers: { "@http": deliver } });
 */
export function createDeliveryHandler(options: DeliveryOptions): DeliveryHandler {
  const signingKeys = parseSigningSecrets(options.signingSecrets);
  const timeoutMs = options.timeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS;
  if (!(Number.isInteger(timeoutMs) && timeoutMs > 0)) {
    throw new KeelError("invalid_argument", {
      detail: "timeoutMs must be a whole number of milliseconds above 0",
    });
  }
  const allowlist =
    typeof options.allowlist === "object" && "permitsHost" in options.allowlist
      ? options.allowlist
      : parseAllowlist(options.allowlist);
  // Made at the first delivery: until then the process does not load undici (decision 023).
  let agent: Agent | undefined;
  const agentOf = (): Agent =>
    (agent ??= createDeliveryAgent(
      { production: options.production, allowlist },
      { resolve: options.resolve, connectTimeoutMs: timeoutMs },
    ));
  const deliver = async (ctx: JobContext): Promise<void> => {
    if (!("url" in ctx.job.target)) {
      throw new DeliveryRefusedError("delivery_invalid_target", `job ${ctx.id} has no HTTP target`);
    }
    const forward = await forwardedEvent(ctx, options.events);
    const queueTimeoutMs = (await options.queueTimeoutMs?.(ctx.queue)) ?? timeoutMs;
    const result = await sendDelivery(
      {
        jobId: ctx.id,
        attempt: ctx.attempt,
        queue: ctx.queue,
        tenant: ctx.tenant,
        origin: ctx.job.origin,
        target: ctx.job.target as HttpTarget,
        payload: ctx.payload,
        ...(forward ? { forward } : {}),
      },
      {
        dispatcher: agentOf(),
        signingKeys,
        qstashKeys: options.qstashKeys,
        timeoutMs: queueTimeoutMs,
        signal: ctx.signal,
        variables: options.variables,
      },
    );
    ctx.setAttemptDetail({
      responseStatus: result.status ?? null,
      latencyMs: result.latencyMs,
      responseBody: result.body ?? null,
    });
    options.onResult?.(result, ctx);
    if (result.error) throw result.error;
  };
  return Object.assign(deliver, { close: async () => agent?.close() });
}

/**
 * The webhook event a job made by intake forwards: one primary-key read per attempt, so the job
 * itself stays small however large the body (decision 013). Undefined for other jobs.
 */
async function forwardedEvent(
  ctx: JobContext,
  events: DeliveryOptions["events"],
): Promise<ForwardedEvent | undefined> {
  const id = ctx.job.origin?.event;
  if (id === undefined) return undefined;
  const event = events ? await events.payload(id) : null;
  if (!event) {
    throw new DeliveryRefusedError(
      "delivery_event_missing",
      events
        ? `event ${id} is gone (removed by its source's retention); nothing to forward`
        : `job ${ctx.id} forwards event ${id}, but this deliverer was given no event store`,
    );
  }
  return { body: event.body, contentType: event.contentType, headers: event.headers };
}

/**
 * How `keel_deliveries_total{status_class}` counts an attempt: by status class, or `timeout` /
 * `network` when no complete response came; undefined when nothing was sent (a refused address,
 * a missing variable, an invalid target).
 *
 * @example
 * createDeliveryHandler({ ...options, onResult: (r) => { const c = deliveryStatusClass(r); if (c) metrics.recordDelivery(c); } });
 */
export function deliveryStatusClass(result: DeliveryResult): DeliveryStatusClass | undefined {
  const code = result.error?.code;
  if (code === "delivery_timeout") return "timeout";
  if (result.status !== undefined) {
    const hundreds = Math.floor(result.status / 100);
    return hundreds >= 2 && hundreds <= 5 ? (`${hundreds}xx` as DeliveryStatusClass) : "network";
  }
  return code === "delivery_network" ? "network" : undefined;
}

export interface DeliveryWorkerOptions extends DeliveryOptions {
  engine: Engine;
  /** Queues whose HTTP jobs this worker delivers; `"*"` for every queue. */
  queues: string[] | "*";
  /** Deliveries in flight at once. Default 10. */
  concurrency?: number;
  /** Most of the slots other queues leave that one queue may hold (see WorkerOptions). Default 1. */
  queueShare?: number;
  /** Passed to the engine Worker as is (lease, polling, hooks). */
  worker?: Omit<WorkerOptions, "engine" | "queues" | "handlers" | "concurrency">;
}

/** An engine Worker that also closes its delivery connections when it stops. */
class DeliveryWorker extends Worker {
  private closing: Promise<void> | undefined;
  constructor(
    options: WorkerOptions,
    private readonly handler: DeliveryHandler,
  ) {
    super(options);
  }

  override stop(): Promise<void> {
    this.closing ??= super.stop().finally(() => this.handler.close());
    return this.closing;
  }
}

/**
 * Starts a worker that delivers the HTTP jobs (handler `@http`) of the given queues.
 *
 * @example
 * const worker = await startDeliveryWorker({
 *   engine, queues: ["webhooks"], signingSecrets: env.signingSecrets, production: env.production,
 *   allowlist: env.targetAllowlist,
 * });
 * process.on("SIGTERM", () => worker.stop());
 */
export async function startDeliveryWorker(options: DeliveryWorkerOptions): Promise<Worker> {
  let worker: Worker | undefined;
  // The worker reads every queue's settings for its claims (at most once a second): the
  // timeouts come from that read; a queue it has not read yet is read once here.
  const queueTimeoutMs = async (queue: string): Promise<number | null> => {
    const known = worker?.queueSettings(queue);
    if (known) return known.deliveryTimeoutMs;
    return (await options.engine.queueLimits([queue])).get(queue)?.deliveryTimeoutMs ?? null;
  };
  const handler = createDeliveryHandler({
    ...options,
    events: options.events ?? options.engine.intake.events,
    queueTimeoutMs: options.queueTimeoutMs ?? queueTimeoutMs,
  });
  worker = new DeliveryWorker(
    {
      ...options.worker,
      engine: options.engine,
      queues: options.queues,
      concurrency: options.concurrency,
      queueShare: options.queueShare,
      handlers: { [HTTP_HANDLER]: handler },
    },
    handler,
  );
  try {
    await worker.start();
  } catch (err) {
    await handler.close();
    throw err;
  }
  return worker;
}
