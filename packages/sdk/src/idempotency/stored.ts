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
    return { status, headers: { ...kept, [BASE64]: "base64" }, body: toBase64(body) };
  }
}

/** A stored response ready to send again, marked as a replay. */
export function fromStored(stored: StoredResponse): {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
} {
  const { [BASE64]: encoding, ...headers } = stored.headers;
  const body = encoding === "base64" ? fromBase64(stored.body) : new TextEncoder().encode(stored.body);
  return { status: stored.status, headers: { ...headers, "idempotent-replayed": "true" }, body };
}

// btoa/atob rather than Buffer: the same code runs on the edge.
function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
