import { createRequire } from "node:module";

let loaded: typeof import("undici") | undefined;

/**
 * undici, loaded on first use: by the first delivery or doctor probe, not by `keel start`. Its
 * code is the largest of Keel's dependencies (about 11 MiB resident); a Keel that has not sent a
 * request yet, or never does (role api), does not carry it (decision 023).
 */
export function undici(): typeof import("undici") {
  loaded ??= createRequire(import.meta.url)("undici") as typeof import("undici");
  return loaded;
}
