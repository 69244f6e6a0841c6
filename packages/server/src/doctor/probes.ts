import type { Agent, Dispatcher } from "undici";
import { parseAllowlist } from "../delivery/allowlist.js";
import { createDeliveryAgent, type Resolver } from "../delivery/connector.js";
import { AddressRefusedError } from "../delivery/errors.js";
import { undici } from "../delivery/undici.js";
import { VERSION } from "../http/app.js";
import type { TargetUse } from "./targets.js";
import { type DoctorCheck, pass, problem } from "./types.js";

export interface ProbeOptions {
  production: boolean;
  /** KEEL_TARGET_ALLOWLIST, as deliveries use it. */
  allowlist: readonly string[];
  /** Connect, answer and body together, per probe. Default 5 s. */
  timeoutMs?: number;
  /** Probes in flight at once. Default 4. */
  concurrency?: number;
  /** Injectable DNS, as for deliveries. */
  resolve?: Resolver;
}

const AUTH_FIX =
  "make the endpoint refuse requests without its credentials (401): check the header the target sends (e.g. Authorization: Bearer ${CRON_SECRET}), or verify Keel's signature with verifyDelivery from @keel/sdk (docs/delivery.md)";

/**
 * One live probe per target, from Keel's side and through the same SSRF guard as deliveries:
 * an unauthenticated request (the target's method, none of its headers, no signature, no body).
 * Reached and refused with 401/403 passes; a schedule's target that answers 2xx to it fails,
 * since anyone who finds the URL can run the job; a route's, which should verify the forwarded
 * signature, is a warning.
 *
 * @example
 * const checks = await probeTargets(targets, { production: true, allowlist: [] });
 */
export async function probeTargets(
  targets: readonly TargetUse[],
  options: ProbeOptions,
): Promise<DoctorCheck[]> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const agent = probeAgent(options, timeoutMs);
  const results: DoctorCheck[] = new Array(targets.length);
  let next = 0;
  const lane = async () => {
    while (next < targets.length) {
      const i = next++;
      results[i] = await probe(targets[i] as TargetUse, agent, timeoutMs);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, targets.length) }, lane));
  } finally {
    await agent.close().catch(() => {});
  }
  return results;
}

/** The delivery agent probes go through: the same SSRF policy and allowlist as deliveries. */
export function probeAgent(options: ProbeOptions, timeoutMs: number): Agent {
  return createDeliveryAgent(
    { production: options.production, allowlist: parseAllowlist(options.allowlist) },
    { resolve: options.resolve, connectTimeoutMs: timeoutMs },
  );
}

/**
 * One unauthenticated request through `agent`, bounded by `timeoutMs` (connect, answer and the
 * first 16 KiB of body together): its status, or the failure `unreachable` describes.
 */
export async function send(
  url: string,
  method: string,
  agent: Dispatcher,
  timeoutMs: number,
): Promise<{ status: number } | { error: unknown; timedOut: boolean }> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await undici().request(url, {
      dispatcher: agent,
      method: method as Dispatcher.HttpMethod,
      headers: { "user-agent": `keel-doctor/${VERSION}` },
      signal,
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    await res.body.dump({ limit: 16 * 1024 }).catch(() => {});
    return { status: res.statusCode };
  } catch (error) {
    return { error, timedOut: signal.aborted };
  }
}

async function probe(use: TargetUse, agent: Dispatcher, timeoutMs: number): Promise<DoctorCheck> {
  const id = `probe.${use.kind}.${use.name}`;
  const method = use.target.method ?? "POST";
  let origin: string;
  try {
    const url = new URL(use.target.url);
    origin = `${method} ${url.origin}${url.pathname}`;
  } catch {
    return problem(id, "fail", `${use.label}: the target URL does not parse`, "correct the target's url");
  }
  const sent = await send(use.target.url, method, agent, timeoutMs);
  if ("error" in sent) return unreachable(id, use.label, origin, sent.error, sent.timedOut, timeoutMs);
  const { status } = sent;
  const seen = `${use.label}: ${origin} answered ${status} to a request without credentials`;
  if (status === 401 || status === 403) return pass(id, seen);
  if (status >= 200 && status < 300) {
    return problem(
      id,
      use.kind === "schedule" ? "fail" : "warn",
      `${seen}: anyone who finds the URL can run it`,
      AUTH_FIX,
    );
  }
  if (status >= 300 && status < 400) {
    return problem(
      id,
      "warn",
      `${seen}: Keel does not follow redirects, so deliveries fail`,
      "use the final URL as the target's url",
    );
  }
  if (status === 404 || status === 405) {
    return problem(
      id,
      "warn",
      `${seen}: the path or method may be wrong`,
      `check the target's url and method against the route your application serves`,
    );
  }
  return problem(
    id,
    "warn",
    `${seen}: reachable, but only 401 or 403 show it checks credentials`,
    "answer 401 when the credentials are missing or wrong, before reading the body",
  );
}

/** A probe that got no answer: refused by the address policy, timed out, or not reached. */
export function unreachable(
  id: string,
  label: string,
  origin: string,
  err: unknown,
  timedOut: boolean,
  timeoutMs: number,
): DoctorCheck {
  const code = String((err as { code?: unknown })?.code ?? "");
  if (
    err instanceof AddressRefusedError ||
    (err as { cause?: unknown })?.cause instanceof AddressRefusedError
  ) {
    return problem(
      id,
      "fail",
      `${label}: ${origin} is refused by the delivery address policy (${(err as Error).message}), so its deliveries fail too`,
      "if this target is yours and trusted, add its host or range to KEEL_TARGET_ALLOWLIST on every worker",
    );
  }
  if (timedOut || code === "UND_ERR_CONNECT_TIMEOUT") {
    return problem(
      id,
      "fail",
      `${label}: ${origin} did not answer within ${timeoutMs} ms`,
      "check that the application is up and reachable from Keel's network at that URL",
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  return problem(
    id,
    "fail",
    `${label}: ${origin} cannot be reached (${code ? `${code}: ` : ""}${message})`,
    "check the URL's host and port, and that the application is up and reachable from Keel's network",
  );
}
