import { type Engine, isKeelError } from "@keel/engine";
import { type KeelEnv, loadEnv } from "../config/env.js";
import { type KeelConfigFile, parseConfigFile, readConfigFile } from "../config/file.js";

/** What the checks look at: the environment, the config file, and the database when reachable. */
export interface DoctorInputs {
  /** The environment as given: variables are looked up by name, values are never reported. */
  env: NodeJS.ProcessEnv;
  /** NODE_ENV=production. */
  production: boolean;
  /**
   * Keel's settings, read without the production secret rules (the doctor reports those itself,
   * one check each); undefined when the environment has other problems, listed in `envProblems`.
   */
  keel: KeelEnv | undefined;
  envProblems: string[];
  file: {
    /** The file as written (`{}` without one), read before and despite its validation. */
    raw: unknown;
    config: KeelConfigFile | undefined;
    path: string | undefined;
    problems: string[];
  };
  /** Keel's database; undefined when it could not be opened (`databaseError` says why). */
  engine: Engine | undefined;
  databaseError?: string;
  /** How many `keel start` processes this one counts as (1 inside a server, 0 for the CLI). */
  self: number;
}

/**
 * Reads the environment and the config file for `keel doctor` without stopping at the first
 * problem: what `keel start` would refuse becomes a failed check instead of an error.
 *
 * @example
 * const inputs = await readDoctorInputs(process.env);
 * const report = await runDoctor({ ...inputs, engine });
 */
export async function readDoctorInputs(
  env: NodeJS.ProcessEnv,
  cwd?: string,
): Promise<Omit<DoctorInputs, "engine" | "self">> {
  const production = env.NODE_ENV === "production";
  let keel: KeelEnv | undefined;
  const envProblems: string[] = [];
  try {
    // Production's secret rules are checks of their own (doctor/secrets.ts).
    keel = { ...loadEnv({ ...env, NODE_ENV: undefined }), nodeEnv: env.NODE_ENV, production };
  } catch (err) {
    envProblems.push(...problemsOf(err));
  }
  const file: DoctorInputs["file"] = { raw: {}, config: undefined, path: undefined, problems: [] };
  try {
    const given = keel?.configFile ?? (env.KEEL_CONFIG?.trim() || undefined);
    const read = await readConfigFile({ file: given, cwd });
    file.raw = read.raw;
    file.path = read.path;
    const parsed = parseConfigFile(read.raw, read.path);
    if ("problems" in parsed) file.problems = parsed.problems;
    else file.config = parsed.config;
  } catch (err) {
    file.problems.push(...problemsOf(err));
  }
  return { env, production, keel, envProblems, file };
}

function problemsOf(err: unknown): string[] {
  if (!isKeelError(err) || err.code !== "invalid_config") throw err;
  return (err.details.list as string[] | undefined) ?? [err.message];
}
