import type { StoredResponse } from "./store.js";

// Not replayed: they describe the connection, the moment, or a session (a replay may reach
// another client that holds the same key in the same scope).
const NOT_STORED = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
  "date",
  "set-cookie",
]);
// Marks a body kept as base64 because it is not UTF-8 text; never sent.
const BASE64 = "x-keel-idempotency-body";

/** A response as stored: UTF-8 bodies as text, anything else as base64. */
export function toStored(
  status: number,
  headers: Iterable<[string, string | number | readonly string[] | undefined]>,
  body: Uint8Array,
): StoredResponse {
  const kept: Record<string, string> = {};
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (value === undefined || NOT_STORED.has(lower) || lower === BASE64) continue;
    kept[lower] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(body);
    return { status, headers: kept, body: text };
  } catch {
    return { status, headers: { ...kept, [BASE64]: "base64" }, body: Buffer.from(body).toString("base64") };
  }
}

/** A stored response ready to send again, marked as a replay. */
export function fromStored(stored: StoredResponse): {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
} {
  const { [BASE64]: encoding, ...headers } = stored.headers;
  const body = Buffer.from(stored.body, encoding === "base64" ? "base64" : "utf8");
  return { status: stored.status, headers: { ...headers, "idempotent-replayed": "true" }, body };
}
