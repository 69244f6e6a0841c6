import pino, { type DestinationStream, type Logger } from "pino";
import type { LogLevel } from "./config/env.js";

/**
 * Keel's logger: one JSON object per line on stdout, `level` as a word. Fields that could
 * hold credentials are censored wherever they appear, as a second line of defence.
 *
 * @example
 * createLogger("info").info({ port: 7070 }, "keel started");
 * // {"level":"info","time":"…","port":7070,"msg":"keel started"}
 */
export function createLogger(level: LogLevel = "info", destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: [
          "password",
          "connectionString",
          "databaseUrl",
          "*.password",
          "*.connectionString",
          "*.databaseUrl",
        ],
        censor: "[redacted]",
      },
    },
    // Synchronous writes: the last lines before process.exit() are never lost.
    destination ?? pino.destination({ fd: 1, sync: true }),
  );
}
