/** Raised when the store did not answer within the limiter's timeout. */
export class StoreTimeoutError extends Error {
  override name = "StoreTimeoutError";
  constructor(store: string, ms: number) {
    super(`the ${store} rate-limit store did not answer within ${ms} ms`);
  }
}

/**
 * Settles like `work`, or rejects with StoreTimeoutError after `ms`. The work is not cancelled;
 * a late rejection is swallowed (nobody waits for it any more).
 */
export function withTimeout<T>(work: Promise<T>, ms: number, store: string): Promise<T> {
  // One promise and one timer per check (not race + finally: this runs on every decision).
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new StoreTimeoutError(store, ms)), ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
