/** Why a delivery was refused; stable, for logs and metrics. */
export type VerificationFailure =
  /** `webhook-id`, `webhook-timestamp` or `webhook-signature` is absent: not a signed delivery. */
  | "missing_signature"
  /** `webhook-timestamp` is not whole unix seconds. */
  | "invalid_timestamp"
  /** Signed longer ago (or further ahead) than the tolerance: a replay, or a clock far off. */
  | "timestamp_out_of_tolerance"
  /** No `v1` signature matches any of the secrets: forged, tampered, or signed with another secret. */
  | "bad_signature"
  /** Signed, but `keel-job-id` differs from the job named by the signed `webhook-id`. */
  | "header_mismatch"
  /** Signed, but without the `keel-job-id`, `keel-attempt` and `keel-queue` headers of a Keel delivery. */
  | "not_a_keel_delivery"
  /** Signed, but the body is not JSON though its content type (or its absence, for jobs) says it is. */
  | "invalid_payload";

/** The registry code every refusal carries (docs/reference/errors.md). */
export const DELIVERY_VERIFICATION_FAILED = "delivery_verification_failed";

/**
 * A request that is not a genuine, fresh Keel delivery. Answer 401 (the adapters do): Keel
 * records the attempt as failed and retries it. The message never contains a secret.
 *
 * @example
 * try { verifyDelivery({ headers, body }, { secrets }); }
 * catch (err) { if (err instanceof DeliveryVerificationError) log.warn({ reason: err.reason }); }
 */
export class DeliveryVerificationError extends Error {
  override name = "DeliveryVerificationError";
  readonly code = DELIVERY_VERIFICATION_FAILED;
  readonly status = 401;

  constructor(
    readonly reason: VerificationFailure,
    detail: string,
  ) {
    super(`Keel delivery refused (${reason}): ${detail}.`);
  }

  /** The error envelope Keel's API uses, for a 401 answer. */
  toJSON(): { error: { code: string; message: string; reason: VerificationFailure } } {
    return { error: { code: this.code, message: this.message, reason: this.reason } };
  }
}
