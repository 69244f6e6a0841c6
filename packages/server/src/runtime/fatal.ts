import { isKeelError } from "@keel/engine";
import type { Logger } from "pino";

/**
 * Logs an error that ends the process: a KeelError as its code and message (which says what
 * to fix), anything else with its stack. Returns the exit code to use.
 */
export function logFatal(logger: Logger, err: unknown, context: string): number {
  if (isKeelError(err)) {
    const problems = err.details.list;
    logger.fatal({ code: err.code, ...(Array.isArray(problems) ? { problems } : {}) }, err.message);
  } else {
    logger.fatal({ err }, `${context}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return 1;
}
