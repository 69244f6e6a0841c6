import { isKeelError, KeelError } from "@keel/engine";
import { type EnvOverrides, type KeelEnv, loadEnv, ROLES, type Role } from "./env.js";
import { type KeelConfigFile, parseConfigFile, readConfigFile } from "./file.js";
import { sourceSecretProblems } from "./sources.js";
import {
  configVariableUses,
  describeUnset,
  forbiddenVariableProblems,
  unsetVariableUses,
  type VariableUse,
} from "./variables.js";

/** Roles that deliver HTTP jobs, and so read `${VAR}` in target headers. */
export const DELIVERY_ROLES: readonly Role[] = ["all", "worker"];
/** Roles that serve webhook intake, and so read the sources' secrets. */
const INTAKE_ROLES: readonly Role[] = ["all", "api"];

export interface StartConfig {
  env: KeelEnv;
  /** `raw`: the file as written (`{}` without one), for the checks that read it before validation. */
  file: { config: KeelConfigFile; path: string | undefined; raw: unknown };
  /** Every `${VAR}` the file's schedules and source routes use in target headers. */
  variables: VariableUse[];
  /** Those unset in this environment, for a role that delivers (else empty): a warning, not fatal. */
  unsetVariables: VariableUse[];
}

/**
 * Everything `keel start` reads before it connects to anything — the environment, the config
 * file, the variables the file uses — with every problem reported in one `invalid_config`
 * (a typo in the file and an unset secret in the same round, not one per start). Unset
 * variables of target headers are not fatal (a run fails until they are set): they are
 * returned, and listed with the fatal problems when there are some.
 *
 * @example
 * const { env, file, unsetVariables } = await loadStartConfig(process.env, { role: "worker" });
 */
export async function loadStartConfig(
  source: NodeJS.ProcessEnv,
  overrides: EnvOverrides = {},
  cwd?: string,
): Promise<StartConfig> {
  const problems: string[] = [];
  const collect = (err: unknown): void => {
    if (!isKeelError(err) || err.code !== "invalid_config") throw err;
    problems.push(...((err.details.list as string[] | undefined) ?? [err.message]));
  };
  let env: KeelEnv | undefined;
  try {
    env = loadEnv(source, overrides);
  } catch (err) {
    collect(err);
  }
  const role = env?.role ?? givenRole(source, overrides);
  let raw: unknown;
  let path: string | undefined;
  try {
    ({ raw, path } = await readConfigFile({ file: env?.configFile ?? given(source.KEEL_CONFIG), cwd }));
  } catch (err) {
    collect(err);
  }
  let config: KeelConfigFile | undefined;
  let variables: VariableUse[] = [];
  if (raw !== undefined) {
    const parsed = parseConfigFile(raw, path);
    if ("problems" in parsed) problems.push(...parsed.problems);
    else config = parsed.config;
    variables = configVariableUses(raw);
    problems.push(...forbiddenVariableProblems(variables));
    // Sources are served by the intake roles, which need their secrets' variables.
    if (INTAKE_ROLES.includes(role)) {
      const sources = (raw as { sources?: unknown } | null)?.sources;
      problems.push(...sourceSecretProblems(sources, source).map((p) => `${path ?? "config"}: ${p}`));
    }
  }
  const unsetVariables = DELIVERY_ROLES.includes(role) ? unsetVariableUses(variables, source) : [];
  if (problems.length > 0 || !env || !config) {
    const list = [...problems];
    if (unsetVariables.length > 0) {
      list.push(
        `not set (a warning: these targets' runs would fail until set): ${describeUnset(unsetVariables)}`,
      );
    }
    throw new KeelError("invalid_config", { problems: `- ${list.join("\n- ")}`, list });
  }
  return { env, file: { config, path, raw: raw ?? {} }, variables, unsetVariables };
}

function given(value: string | undefined): string | undefined {
  return value?.trim() ? value : undefined;
}

/** The role asked for when the environment as a whole is invalid (else `all`). */
function givenRole(source: NodeJS.ProcessEnv, overrides: EnvOverrides): Role {
  const asked = overrides.role ?? source.KEEL_ROLE;
  return ROLES.find((r) => r === asked) ?? "all";
}
