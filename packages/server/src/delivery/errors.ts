import { NonRetryableError, RetryAfterError } from "@keel/engine";

/**
 * Why a delivery attempt failed. The code is stored with the attempt (`error.code`), so
 * operators can filter on it; the message says what happened in words.
 */
export type DeliveryErrorCode =
  /** The endpoint answered with a status other than 2xx (and not one of the cases below). */
  | "delivery_status"
  /** 410 Gone: the endpoint asked never to be called again. Not retried. */
  | "delivery_gone"
  /** 429 or 503 with Retry-After: retried after the delay the endpoint asked for. */
  | "delivery_retry_after"
  /** A 3xx: redirects are not followed. */
  | "delivery_redirect"
  /** No complete response within the timeout (connect, headers and body together). */
  | "delivery_timeout"
  /** Connection refused or reset, DNS failure, TLS failure. */
  | "delivery_network"
  /** The address the target resolves to is refused by the SSRF policy. */
  | "delivery_address_refused"
  /** A `${VAR}` in a target header names a variable that is not set. */
  | "delivery_variable_missing"
  /** A `${VAR}` in a target header names a variable targets may not read. Not retried. */
  | "delivery_variable_refused"
  /** The target can never be delivered as stored (bad URL, reserved header). Not retried. */
  | "delivery_invalid_target"
  /** The webhook event a job forwards was removed by its source's retention. Not retried. */
  | "delivery_event_missing"
  /** A `signing: "qstash"` target while this worker has no KEEL_QSTASH_CURRENT_SIGNING_KEY. */
  | "delivery_signing_unconfigured";

/** A failed attempt that is retried with the job's backoff. */
export class DeliveryError extends Error {
  override name = "DeliveryError";
  constructor(
    readonly code: DeliveryErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A failed attempt after which the job goes to `dead`: retrying cannot help. */
export class DeliveryRefusedError extends NonRetryableError {
  override name = "DeliveryRefusedError";
  constructor(
    readonly code: DeliveryErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A failed attempt retried after the delay the endpoint asked for (Retry-After). */
export class DeliveryRetryAfterError extends RetryAfterError {
  override name = "DeliveryRetryAfterError";
  readonly code: DeliveryErrorCode = "delivery_retry_after";
}

/**
 * Raised by the connector when the SSRF policy refuses an address, before any connection to
 * it is opened. `code` lets request.ts tell it apart from ordinary network errors.
 */
export class AddressRefusedError extends Error {
  override name = "AddressRefusedError";
  readonly code = "KEEL_ADDRESS_REFUSED";
}
