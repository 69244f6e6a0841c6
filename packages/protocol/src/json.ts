import { concat, sha256Hex, utf8 } from "./bytes.js";

/**
 * JSON with object keys sorted and undefined members dropped, so two equal values give one text
 * whatever their key order (`toJSON` is honoured, as JSON.stringify does).
 *
 * @example
 * canonicalJson({ b: 1, a: [true, { d: null, c: "x" }] }); // '{"a":[true,{"c":"x","d":null}],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  if (
    value !== null &&
    typeof value === "object" &&
    typeof (value as { toJSON?: unknown }).toJSON === "function"
  ) {
    return canonicalJson((value as { toJSON: () => unknown }).toJSON());
  }
  if (value === null || typeof value !== "object") return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/** A request as its Idempotency-Key fingerprint sees it. */
export interface FingerprintedRequest {
  method: string;
  /** Path with its query. */
  url: string;
  /** Raw bytes or text as they are; a parsed body as canonical JSON; undefined when there is none. */
  body?: unknown;
}

/**
 * SHA-256 (hex) of the method, the URL and the body: what makes two requests under one
 * Idempotency-Key "the same request" for Keel's API and the SDK's middleware alike.
 *
 * @example
 * await requestFingerprint({ method: "POST", url: "/v1/jobs", body: { target, payload } });
 */
export async function requestFingerprint(request: FingerprintedRequest): Promise<string> {
  return sha256Hex(fingerprintBytes(request));
}

/**
 * The bytes `requestFingerprint` hashes, for a runtime with a synchronous SHA-256 (Keel's
 * server uses node:crypto: WebCrypto's digest costs more than the hash on a hot path).
 */
export function fingerprintBytes(request: FingerprintedRequest): Uint8Array {
  const { body } = request;
  const bytes =
    body instanceof Uint8Array
      ? body
      : typeof body === "string"
        ? body
        : body === undefined
          ? ""
          : canonicalJson(body);
  return concat([utf8(`${request.method.toUpperCase()} ${request.url}\n`), utf8(bytes)]);
}
