// The store contract is @keel/protocol/idempotency's (one definition, shared with the engine).
export type {
  BeginInput,
  BeginResult,
  FinishInput,
  IdempotencyStore,
  StoredResponse,
} from "@keel/protocol/idempotency";

/** Rejects with `timeout` when `promise` takes longer than `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
