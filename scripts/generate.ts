/**
 * Writes the generated modules (scripts/generated-modules.ts, decision 035); `npm run build`
 * runs it first. `--check` writes nothing and fails when a committed module differs from what
 * its sources generate (`npm test` runs that before building).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generatedModules, ROOT } from "./generated-modules.js";

const check = process.argv.includes("--check");
const stale: string[] = [];
for (const { path, text } of generatedModules()) {
  let current: string | undefined;
  try {
    current = readFileSync(join(ROOT, path), "utf8");
  } catch {}
  if (current === text) continue;
  stale.push(path);
  if (!check) writeFileSync(join(ROOT, path), text);
}
if (check && stale.length > 0) {
  console.error(
    `stale generated modules (their .sql or package.json changed): ${stale.join(", ")}. Run \`npm run generate\` and commit them.`,
  );
  process.exitCode = 1;
} else if (!check && stale.length > 0) {
  console.log(`generated ${stale.join(", ")}`);
}
