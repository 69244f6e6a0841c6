/**
 * The workspace packages as npm would publish them, for the tests that install them in a fresh
 * directory (packages/sdk/test/packaging.test.ts, packages/server/test/npm-install.test.ts).
 */
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = new URL("../", import.meta.url).pathname;

export interface Packed {
  name: string;
  filename: string;
  files: { path: string }[];
}

/**
 * `npm pack` of `packages/<name>` for each name into `dest`; returns each package's pack result
 * by short name (`sdk`, `server`) and its tarball's path.
 *
 * @example
 * const { tarball } = await packWorkspaces(dir, ["protocol", "engine", "server"]);
 * await installTarballs(app, ["protocol", "engine", "server"].map(tarball));
 */
export async function packWorkspaces(
  dest: string,
  packages: readonly string[],
): Promise<{ packed: Map<string, Packed>; tarball: (name: string) => string }> {
  mkdirSync(dest, { recursive: true });
  const { stdout } = await run(
    "npm",
    ["pack", "--json", "--pack-destination", dest, ...packages.flatMap((p) => ["-w", `packages/${p}`])],
    { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 },
  );
  const packed = new Map((JSON.parse(stdout) as Packed[]).map((p) => [p.name.replace("@keel/", ""), p]));
  const tarball = (name: string) => {
    const file = packed.get(name)?.filename;
    if (!file) throw new Error(`@keel/${name} was not packed`);
    return join(dest, file);
  };
  return { packed, tarball };
}

/**
 * A fresh application directory with `tarballs` installed (install scripts off): from the npm
 * cache when it has everything, else with the registry filling in the metadata it lacks.
 */
export async function installTarballs(dir: string, tarballs: readonly string[]): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  const install = (mode: string) =>
    run("npm", ["install", mode, "--no-audit", "--no-fund", "--ignore-scripts", ...tarballs], { cwd: dir });
  await install("--offline").catch(() => install("--prefer-offline"));
}
