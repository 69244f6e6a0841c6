import type { Handler } from "@keel/engine";
import type { JobInput } from "../client/types.js";

/** Handlers typed by a map of handler name → payload type. */
export type TypedHandlers<P extends Record<string, unknown>> = { [K in keyof P & string]: Handler<P[K]> };

/**
 * Declares a worker's handlers against one map of payload types, so each handler's `payload` is
 * typed and the same map types the jobs you enqueue (`HandlerJob`).
 *
 * @example
 * type Payloads = { sendWelcome: { userId: number }; renderPdf: { invoiceId: string } };
 * const handlers = defineHandlers<Payloads>({
 *   sendWelcome: async ({ payload }) => mailer.welcome(payload.userId),
 *   renderPdf: async ({ payload, signal }) => pdf.render(payload.invoiceId, { signal }),
 * });
 * const worker = createWorker({ connectionString: process.env.DATABASE_URL, queues: ["email"], handlers });
 */
export function defineHandlers<P extends Record<string, unknown>>(
  handlers: TypedHandlers<P>,
): TypedHandlers<P> {
  return handlers;
}

/**
 * A job for one of the handlers of a payload map: `target.handler` names it and `payload` has
 * its type. Assignable to `JobInput`, for `keel.jobs.create`.
 *
 * @example
 * const job: HandlerJob<Payloads> = { queue: "email", target: { handler: "sendWelcome" }, payload: { userId: 42 } };
 * await keel.jobs.create(job);
 */
export type HandlerJob<P extends Record<string, unknown>> = {
  [K in keyof P & string]: Omit<JobInput, "target" | "payload"> & { target: { handler: K }; payload: P[K] };
}[keyof P & string];
