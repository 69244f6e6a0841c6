import { type DoctorConfig, expandUrl } from "../config/doctor.js";
import { type ProbeOptions, probeAgent, send, unreachable } from "./probes.js";
import { type DoctorCheck, pass, problem } from "./types.js";

const ID = "probe.app_health";

/**
 * `probe.app_health`: one `GET` of the application's own health URL (`doctor.appHealth`), without
 * credentials and through the same guard, allowlist and timeout as the target probes. A 2xx
 * within the bound passes; any other answer, no answer, or an address the delivery policy
 * refuses fails with what was seen. Not configured: a pass that says how to turn it on.
 *
 * @example
 * const check = await appHealthCheck({ appHealth: "${APP_URL}/health" }, process.env, { production: true, allowlist: [] });
 */
export async function appHealthCheck(
  config: DoctorConfig | undefined,
  env: NodeJS.ProcessEnv,
  options: ProbeOptions,
): Promise<DoctorCheck> {
  const configured = config?.appHealth;
  if (!configured) {
    return pass(
      ID,
      "not configured: set doctor.appHealth in the config file (e.g. ${APP_URL}/health) to probe the application's own health",
    );
  }
  const expanded = expandUrl(configured, env);
  if ("unset" in expanded) {
    return problem(
      ID,
      "fail",
      `doctor.appHealth (${configured}) uses ${expanded.unset.map((v) => `\${${v}}`).join(", ")}, not set in Keel's environment`,
      `set ${expanded.unset.join(", ")} where keel doctor and keel start run`,
    );
  }
  let origin: string;
  try {
    const url = new URL(expanded.url);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("not http");
    origin = `GET ${url.origin}${url.pathname}`;
  } catch {
    return problem(
      ID,
      "fail",
      `doctor.appHealth (${configured}) is not an http(s) URL once its variables are read`,
      "make doctor.appHealth an http:// or https:// URL, e.g. https://app.example.com/health",
    );
  }
  const timeoutMs = options.timeoutMs ?? 5_000;
  const agent = probeAgent(options, timeoutMs);
  try {
    const sent = await send(expanded.url, "GET", agent, timeoutMs);
    if ("error" in sent)
      return unreachable(ID, "the application's health", origin, sent.error, sent.timedOut, timeoutMs);
    const seen = `the application's health: ${origin} answered ${sent.status}`;
    if (sent.status >= 200 && sent.status < 300) return pass(ID, seen);
    if (sent.status >= 300 && sent.status < 400) {
      return problem(
        ID,
        "fail",
        `${seen}: a redirect, which the probe does not follow`,
        "set doctor.appHealth to the final URL",
      );
    }
    return problem(
      ID,
      "fail",
      `${seen}: the application reports itself unhealthy, or the URL is wrong`,
      sent.status === 404 || sent.status === 405
        ? "set doctor.appHealth to the path your application serves its health check on (GET)"
        : "look at the application's logs and its health endpoint's answer; it must answer 2xx when healthy",
    );
  } finally {
    await agent.close().catch(() => {});
  }
}
