/**
 * Settles like `work`, or rejects with "no answer within <ms> ms" first. The work is not
 * cancelled: if it settles later nobody is waiting for it (its rejection is swallowed).
 *
 * @example
 * await withTimeout(pool.query("select 1"), 1_000);
 */
export function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  work.catch(() => {});
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
