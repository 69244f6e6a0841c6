import { KeelError } from "@keel/protocol/errors";

/**
 * The key of a signed-in user.
 *
 * @example
 * limiter.check({ policy: "api", key: keyByUser(session.userId) }); // key "user:42"
 */
export function keyByUser(id: string | number): string {
  return `user:${id}`;
}

export interface AddressKeyOptions {
  /** IPv6 clients are grouped by this prefix: one /64 is usually one subscriber. Default 64. */
  ipv6Prefix?: 48 | 56 | 64;
}

/**
 * The key of a client address. IPv4 addresses stand alone; IPv6 addresses are grouped by their
 * /64 (a subscriber gets a whole /64, so keying single IPv6 addresses would let one client
 * rotate through billions of keys); IPv4-mapped IPv6 (`::ffff:1.2.3.4`, what a dual-stack socket
 * reports) counts as the IPv4 address. Throws `invalid_argument` for anything else.
 *
 * @example
 * keyByAddress("203.0.113.9");            // "ip:203.0.113.9"
 * keyByAddress("::ffff:203.0.113.9");     // "ip:203.0.113.9"
 * keyByAddress("2001:db8:1:2:aaaa::1");   // "ip:2001:db8:1:2::/64"
 */
export function keyByAddress(address: string, options: AddressKeyOptions = {}): string {
  const plain = address
    .trim()
    .replace(/^\[(.*)\]$/, "$1")
    .replace(/%.*$/, "");
  if (isIPv4(plain)) return `ip:${plain}`;
  if (!isIPv6(plain)) {
    throw new KeelError("invalid_argument", { detail: `not an IP address: ${JSON.stringify(address)}` });
  }
  const groups = ipv6Groups(plain);
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (mapped) {
    const [hi, lo] = [groups[6] as number, groups[7] as number];
    return `ip:${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  const prefix = options.ipv6Prefix ?? 64;
  const kept = groups.slice(0, 4);
  if (prefix === 56) kept[3] = (kept[3] as number) & 0xff00;
  if (prefix === 48) kept[3] = 0;
  return `ip:${kept.map((g) => g.toString(16)).join(":")}::/${prefix}`;
}

const OCTET = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]\\d|\\d)";
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);

function isIPv4(text: string): boolean {
  return IPV4.test(text);
}

/** The WHATWG URL parser checks IPv6 the same way in Node, browsers and edge runtimes (no `node:net`). */
function isIPv6(text: string): boolean {
  if (!text.includes(":") || !/^[0-9a-f:.]+$/i.test(text)) return false;
  try {
    new URL(`http://[${text}]/`);
    return true;
  } catch {
    return false;
  }
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a dotted IPv4 tail converted). */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const zeros = tail === undefined ? [] : Array(8 - left.length - right.length).fill("0");
  return [...left, ...zeros, ...right].map((g) => Number.parseInt(g, 16));
}
