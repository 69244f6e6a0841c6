/**
 * Errors a handler throws to steer what happens next. Any other error is retried with the
 * job's backoff until its attempts run out.
 */

/**
 * Do not retry: the job goes to `dead` now with this error.
 *
 * @example
 * if (!user) throw new NonRetryableError(`user ${id} was deleted`);
 */
export class NonRetryableError extends Error {
  override name = "NonRetryableError";
}

/**
 * Retry after the given number of seconds instead of the backoff delay (for example on an
 * upstream 429 with Retry-After). Still spends an attempt.
 *
 * @example
 * throw new RetryAfterError(120, "rate limited by the mail provider");
 */
export class RetryAfterError extends Error {
  override name = "RetryAfterError";
  constructor(
    readonly seconds: number,
    message = `retry requested in ${seconds}s`,
  ) {
    super(message);
    if (!(Number.isFinite(seconds) && seconds >= 0))
      throw new RangeError("RetryAfterError seconds must be >= 0");
  }
}

/** Reason given to a handler's AbortSignal when its lease was lost (swept or cancelled). */
export class LeaseLostError extends Error {
  override name = "LeaseLostError";
}

/** Reason given to a handler's AbortSignal when the worker stops past its shutdown deadline. */
export class WorkerShutdownError extends Error {
  override name = "WorkerShutdownError";
}
