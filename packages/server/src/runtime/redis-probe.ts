import type { RedisHealth } from "../http/health.js";
import { openRedis } from "./ratelimit.js";

/**
 * A Redis connection of its own for the health checks, so `/health` tells whether Redis works
 * even before (or without) a rate-limit check using it. The check is a write (a key that expires
 * by itself), not a PING: a Redis out of memory still answers PING but refuses every write rate
 * limits make. Commands fail at once while disconnected and time out after 1 s; it reconnects
 * by itself.
 */
export function openRedisProbe(
  url: string,
  required: boolean,
  schema: string,
): RedisHealth & { close(): Promise<void> } {
  const client = openRedis(url, 1_000);
  const key = `keel:health:${schema}`;
  return {
    required,
    ping: () => client.set(key, "1", "PX", 10_000),
    close: async () => client.disconnect(),
  };
}
