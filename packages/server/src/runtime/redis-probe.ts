import { RedisRateLimitStore, rateLimitRedisOptions } from "@keel/sdk";
import type { RedisHealth } from "../http/health.js";

/**
 * A Redis connection of its own for the health checks, so `/health` tells whether Redis answers
 * even before (or without) a rate-limit check using it. Commands fail at once while it is
 * disconnected and time out after 1 s; it reconnects by itself.
 */
export function openRedisProbe(url: string, required: boolean): RedisHealth & { close(): Promise<void> } {
  const store = new RedisRateLimitStore({ url, redisOptions: rateLimitRedisOptions(1_000) });
  return { required, ping: () => store.client.ping(), close: () => store.close() };
}
