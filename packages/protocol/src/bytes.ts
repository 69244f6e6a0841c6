// Bytes and text without Buffer: what every runtime (Node, edge, Deno, Bun) has.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 bytes of text; bytes as they are. */
export function utf8(value: string | Uint8Array): Uint8Array {
  return typeof value === "string" ? encoder.encode(value) : value;
}

/** Text of UTF-8 bytes (invalid sequences become U+FFFD). */
export function text(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** The parts one after the other. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Standard base64 of bytes. */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** Bytes of standard base64, or undefined when it is not base64. */
export function fromBase64(value: string): Uint8Array | undefined {
  try {
    const binary = atob(value);
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  } catch {
    return undefined;
  }
}

/** Lowercase hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

/** SHA-256 of text (UTF-8) or bytes, as lowercase hex. */
export async function sha256Hex(value: string | Uint8Array): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(value) as BufferSource)));
}

/** SHA-1 of text (UTF-8) or bytes, as lowercase hex (for Redis's EVALSHA, not for security). */
export async function sha1Hex(value: string | Uint8Array): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-1", utf8(value) as BufferSource)));
}
