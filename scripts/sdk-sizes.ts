/**
 * The minified size of each @keel/sdk subpath, bundled with esbuild as an application would
 * (everything a subpath exports, its dependencies included). Runtime-neutral subpaths are bundled
 * with `--platform=neutral` (a `node:` import fails them), Node ones with `--platform=node`.
 *
 * `npm run sdk:sizes` measures the built workspace and rewrites docs/sdk/sizes.md;
 * packaging.test.ts measures the installed tarball with the same function.
 */
import { writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

export interface SubpathSize {
  subpath: string;
  platform: "neutral" | "node";
  minified: number;
  gzipped: number;
  /** `node:` modules the bundle imports (always empty for neutral ones: esbuild fails them). */
  nodeImports: string[];
}

export const SDK_SUBPATHS: readonly { subpath: string; platform: "neutral" | "node" }[] = [
  { subpath: "./client", platform: "neutral" },
  { subpath: "./verify", platform: "neutral" },
  { subpath: "./next", platform: "neutral" },
  { subpath: "./hono", platform: "neutral" },
  { subpath: "./express", platform: "node" },
  { subpath: "./fastify", platform: "node" },
  { subpath: "./ratelimit", platform: "node" },
  { subpath: "./idempotency", platform: "neutral" },
  { subpath: "./worker", platform: "node" },
];

/** The bundle of `export * from "@keel/sdk/<subpath>"`, resolved from `resolveDir`'s node_modules. */
export async function bundleSubpath(
  resolveDir: string,
  subpath: string,
  platform: "neutral" | "node",
): Promise<string> {
  const result = await build({
    stdin: { contents: `export * from "@keel/sdk${subpath.slice(1)}";`, resolveDir, loader: "js" },
    bundle: true,
    minify: true,
    write: false,
    format: "esm",
    platform,
    // Neutral has no default main fields; every Keel package and zod have `exports`.
    mainFields: ["module", "main"],
    external: ["pg-native"],
    logLevel: "silent",
  });
  return result.outputFiles[0]?.text ?? "";
}

export function nodeImportsOf(code: string): string[] {
  return [...new Set(Array.from(code.matchAll(/["'](node:[\w/]+)["']/g), (m) => m[1] as string))].sort();
}

export async function subpathSizes(resolveDir: string): Promise<SubpathSize[]> {
  const sizes: SubpathSize[] = [];
  for (const { subpath, platform } of SDK_SUBPATHS) {
    const code = await bundleSubpath(resolveDir, subpath, platform);
    sizes.push({
      subpath,
      platform,
      minified: code.length,
      gzipped: gzipSync(code).length,
      nodeImports: nodeImportsOf(code),
    });
  }
  return sizes;
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

export function sizesTable(sizes: readonly SubpathSize[]): string {
  const rows = sizes.map(
    (s) =>
      `| \`@keel/sdk${s.subpath.slice(1)}\` | ${s.platform} | ${kb(s.minified)} | ${kb(s.gzipped)} | ${s.nodeImports.length ? s.nodeImports.join(", ") : "none"} |`,
  );
  return [
    "| Import | esbuild `--platform` | Minified | Minified + gzip | `node:` imports |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}

async function main(): Promise<void> {
  const root = new URL("../", import.meta.url).pathname;
  const sizes = await subpathSizes(root);
  const doc = `# Bundle size of each @keel/sdk subpath

Measured by \`npm run sdk:sizes\` (scripts/sdk-sizes.ts): \`export * from "@keel/sdk/<subpath>"\`
bundled by esbuild with \`--bundle --minify --format=esm\`, dependencies included (\`@keel/protocol\`,
and for the Node subpaths \`@keel/engine\`, \`pg\`, \`zod\`, \`croner\`; \`pg-native\` left out).
An application that imports one function gets less: esbuild drops what it does not use
(\`"sideEffects": false\`). The packaging test (packages/sdk/test/packaging.test.ts) measures the
installed tarball the same way and fails when \`@keel/sdk/verify\` passes 10 KB or imports a \`node:\`
module.

${sizesTable(sizes)}
`;
  writeFileSync(new URL("docs/sdk/sizes.md", `file://${root}`), doc);
  console.log(sizesTable(sizes));
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
