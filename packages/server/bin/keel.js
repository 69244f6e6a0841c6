#!/usr/bin/env -S node --max-semi-space-size=8
// The `keel` command. It is a committed file, not a build output, so that `npm ci` links it
// into node_modules/.bin before anything is built (npm skips a bin whose file is missing, and
// `npx keel` would then look for an unrelated package on the registry). The young generation is
// capped as in dist/bin/keel.js (decision 023).
const entry = new URL("../dist/bin/keel.js", import.meta.url);
try {
  await import(entry.href);
} catch (err) {
  if (err?.code === "ERR_MODULE_NOT_FOUND" && String(err.message).includes(entry.pathname)) {
    console.error("keel is not built yet: run `npm run build` at the repository root, then try again.");
    process.exit(1);
  }
  throw err;
}
