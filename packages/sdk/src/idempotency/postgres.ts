import { Engine, type EngineOptions } from "@keel/engine";
import { type IdempotencyCacheOptions, redisCache } from "./redis-cache.js";
import type { BeginInput, BeginResult, FinishInput, IdempotencyStore } from "./store.js";

export type PostgresIdempotencyStoreOptions = (
  | { /** An engine you opened (and will close). */ engine: Pick<Engine, "idempotency"> }
  | (EngineOptions & { engine?: undefined })
) & {
  /**
   * Redis in front of Postgres, holding completed responses only: a replay is answered from
   * Redis when it has the record; every decision to run is taken by Postgres (decision 020).
   */
  cache?: IdempotencyCacheOptions;
};

/**
 * Idempotency-Key records in Keel's Postgres schema (`idempotency_keys`, engine's Idempotency):
 * an insert decides which of concurrent requests runs. Connects on first use when given a
 * connection string; `close()` then ends that pool.
 *
 * @example
 * const store = postgresIdempotencyStore({ connectionString: process.env.DATABASE_URL });
 * app.use(idempotencyExpress({ store }));
 */
export function postgresIdempotencyStore(options: PostgresIdempotencyStoreOptions): IdempotencyStore {
  const { cache: cacheOptions, engine: given, ...connect } = options;
  let opened: Promise<Engine> | undefined;
  const engine = async (): Promise<Pick<Engine, "idempotency">> => {
    if (given) return given;
    opened ??= Engine.connect({ applicationName: "keel-sdk-idempotency", poolSize: 5, ...connect }).catch(
      (err: unknown) => {
        opened = undefined;
        throw err;
      },
    );
    return opened;
  };
  const cache = cacheOptions ? redisCache(cacheOptions) : undefined;
  return {
    async begin(input: BeginInput): Promise<BeginResult> {
      const cached = await cache?.get(input.scope, input.key);
      if (cached) {
        return cached.fingerprint === input.fingerprint
          ? { state: "completed", response: cached.response }
          : { state: "mismatch" };
      }
      const result = await (await engine()).idempotency.begin(input);
      if (result.state === "completed") void cache?.set(input, result.response);
      return result;
    },
    async finish(input: FinishInput): Promise<void> {
      await (await engine()).idempotency.finish(input);
      void cache?.set(input, input.response);
    },
    async close(): Promise<void> {
      const current = opened;
      opened = undefined;
      if (current) await (await current).close();
    },
  };
}
