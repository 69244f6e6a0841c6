import { fileURLToPath } from "node:url";

/** The engine package root, the same from `src/` (tests via tsx) and `dist/` (built). */
export const PACKAGE_ROOT = fileURLToPath(new URL("../", import.meta.url));
export const MIGRATIONS_DIR = `${PACKAGE_ROOT}migrations`;
export const SQL_DIR = `${PACKAGE_ROOT}sql`;
