import { createHash } from "node:crypto";
import { type EnqueueInput, type HttpTarget, type JobRecord, KeelError } from "@keel/engine";
import { jobIdOfWebhookId, webhookIdOf } from "@keel/protocol/delivery";
import { isStorableText } from "@keel/protocol/names";
import { presentTarget } from "../api/present.js";
import { checkTargetVariables } from "../delivery/headers.js";
import type { UpstashOptions } from "./headers.js";

/** The queue of messages published without one (`/v2/publish`, `/v2/batch` items without `queue`). */
export const DEFAULT_QSTASH_QUEUE = "qstash";

/** What the client sends without a Content-Type (fetch's default for a string body). */
const DEFAULT_CONTENT_TYPE = "text/plain;charset=UTF-8";

/** One message as it arrives: where to, what, and the request's headers. */
export interface IncomingMessage {
  /** The destination after `/v2/publish/` (query string included). */
  destination: string;
  body: Buffer | string | undefined;
  contentType: string | undefined;
  options: UpstashOptions;
  queue?: string | undefined;
}

/**
 * The destination URL of a publish path: `https://…` as the client writes it, or percent-encoded.
 * Anything else is a URL group or an Upstash API, which Keel does not have.
 *
 * @example
 * destinationUrl("https%3A%2F%2Fapp.example.com%2Fjob"); // "https://app.example.com/job"
 */
export function destinationUrl(raw: string): string {
  const text = /^https?%3A/i.test(raw) ? decodeURIComponent(raw) : raw;
  if (/^https?:\/\//i.test(text) && URL.canParse(text)) return text;
  throw new KeelError("qstash_unsupported", {
    feature: `Publishing to '${text.slice(0, 100)}' (URL groups, topics and Upstash APIs)`,
    hint: "publish to an absolute http(s) URL; for fan-out, publish once per URL (POST /v2/batch)",
  });
}

/** A body as text: QStash receivers hash the body as UTF-8 text, so binary bodies cannot verify. */
export function bodyText(body: Buffer | string | undefined): string {
  if (body === undefined) return "";
  let text: string;
  try {
    text = typeof body === "string" ? body : new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    text = "\u0000";
  }
  if (!isStorableText(text)) {
    throw new KeelError("qstash_unsupported", {
      feature: "A binary body (not UTF-8 text, or holding NUL)",
      hint: "send UTF-8 text, e.g. base64-encode binary data into JSON",
    });
  }
  return text;
}

/**
 * The job a QStash message becomes: an HTTP target signed the QStash way, the body kept verbatim
 * as a string payload with its Content-Type, retries as attempts, the deduplication id (or a
 * digest of the content) as the dedupe key. Forwarded headers go through the same `${VAR}` rule
 * as every target written through the API (decision 026).
 *
 * @example
 * toEnqueueInput({ destination: "https://app.example.com/job", body: '{"a":1}',
 *   contentType: "application/json", options: readUpstashHeaders(headers, "publish") }, []);
 */
export function toEnqueueInput(message: IncomingMessage, targetVariables: readonly string[]): EnqueueInput {
  const { options } = message;
  const url = destinationUrl(message.destination);
  const payload = bodyText(message.body);
  const target: HttpTarget = {
    url,
    method: options.method,
    signing: "qstash",
    contentType: message.contentType?.trim() || DEFAULT_CONTENT_TYPE,
    ...(Object.keys(options.forward).length > 0 ? { headers: options.forward } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  };
  checkTargetVariables(target, targetVariables, "Upstash-Forward");
  const dedupeKey =
    options.deduplicationId ?? (options.contentDeduplication ? contentKey(target, payload) : undefined);
  return {
    queue: message.queue ?? DEFAULT_QSTASH_QUEUE,
    target,
    payload,
    ...(options.delayMs !== undefined ? { delayMs: options.delayMs } : {}),
    ...(options.runAt !== undefined ? { runAt: options.runAt } : {}),
    ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
    ...(dedupeKey !== undefined ? { dedupeKey } : {}),
  };
}

/** Content-based deduplication: the same destination, method, headers and body are one message. */
function contentKey(target: HttpTarget, body: string): string {
  const headers = Object.entries(target.headers ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  const digest = createHash("sha256")
    .update(JSON.stringify([target.method, target.url, target.contentType, headers, body]))
    .digest("hex");
  return `qstash-content:${digest}`;
}

/** The job id a QStash message id (`msg_<job id>`) names; `job_not_found` for anything else. */
export function jobIdOfMessage(messageId: string): string {
  const id = jobIdOfWebhookId(messageId);
  if (!id) throw new KeelError("job_not_found", { id: messageId });
  return id;
}

/** What `POST /v2/publish` answers per message. */
export function publishResponse(
  id: string,
  url: string,
  deduplicated: boolean,
): { messageId: string; url: string; deduplicated?: true } {
  return { messageId: webhookIdOf(id), url, ...(deduplicated ? { deduplicated: true as const } : {}) };
}

/** A job as QStash's `Message` (what `client.messages.get` returns), plus Keel's `state`. */
export function presentMessage(job: JobRecord): Record<string, unknown> {
  if (!("url" in job.target)) throw new KeelError("job_not_found", { id: webhookIdOf(job.id) });
  const target = presentTarget(job.target) as HttpTarget;
  return {
    messageId: webhookIdOf(job.id),
    url: target.url,
    method: target.method ?? "POST",
    header: headerLists(target),
    body: typeof job.payload === "string" ? job.payload : JSON.stringify(job.payload),
    maxRetries: job.maxAttempts - 1,
    notBefore: job.runAt.getTime(),
    createdAt: job.createdAt.getTime(),
    queueName: job.queue,
    ...(job.origin?.schedule ? { scheduleId: job.origin.schedule } : {}),
    state: job.state,
  };
}

/** Headers as QStash lists them: `{ name: [value] }`, the content type included. */
export function headerLists(target: HttpTarget): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (target.contentType) out["Content-Type"] = [target.contentType];
  for (const [name, value] of Object.entries(target.headers ?? {})) out[name] = [value];
  return out;
}
