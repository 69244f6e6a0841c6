import { BlockList, isIP } from "node:net";
import type { Allowlist } from "./allowlist.js";

/** What kind of address a delivery would connect to. Only `public` is always allowed. */
export type AddressCategory =
  | "public"
  | "loopback"
  | "private"
  | "cgnat"
  | "link_local"
  | "multicast"
  | "reserved"
  | "unspecified"
  | "documentation";

/** Which addresses deliveries may connect to. */
export interface AddressPolicy {
  /** Production refuses everything but public addresses; development also allows loopback and private. */
  production: boolean;
  allowlist: Allowlist;
}

export type AddressVerdict =
  | { allowed: true; category: AddressCategory; allowlisted: boolean }
  | { allowed: false; category: AddressCategory; reason: string };

// IANA special-purpose registries, plus what the delivery design names (CGNAT, metadata).
const IPV4_RANGES: [string, number, AddressCategory][] = [
  ["0.0.0.0", 8, "unspecified"],
  ["10.0.0.0", 8, "private"],
  ["100.64.0.0", 10, "cgnat"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link_local"],
  ["172.16.0.0", 12, "private"],
  ["192.0.0.0", 24, "reserved"],
  ["192.0.2.0", 24, "documentation"],
  ["192.88.99.0", 24, "reserved"],
  ["192.168.0.0", 16, "private"],
  ["198.18.0.0", 15, "reserved"],
  ["198.51.100.0", 24, "documentation"],
  ["203.0.113.0", 24, "documentation"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved"],
];

// IPv6 outside 2000::/3 (global unicast) is refused as reserved after these are checked.
const IPV6_RANGES: [string, number, AddressCategory][] = [
  ["::", 128, "unspecified"],
  ["::1", 128, "loopback"],
  ["64:ff9b:1::", 48, "private"],
  ["100::", 64, "reserved"],
  ["2001::", 23, "reserved"],
  ["2001:db8::", 32, "documentation"],
  ["3fff::", 20, "documentation"],
  ["fc00::", 7, "private"],
  ["fe80::", 10, "link_local"],
  ["fec0::", 10, "reserved"],
  ["ff00::", 8, "multicast"],
];

const LABELS: Record<AddressCategory, string> = {
  public: "a public address",
  loopback: "a loopback address",
  private: "a private-network address",
  cgnat: "a carrier-grade NAT address (100.64.0.0/10)",
  link_local: "a link-local address",
  multicast: "a multicast address",
  reserved: "a reserved address",
  unspecified: "an unspecified address",
  documentation: "a documentation-only address",
};

const METADATA = new Set(["169.254.169.254", "fd00:ec2::254", "100.100.100.200"]);
const DEVELOPMENT_ALLOWED = new Set<AddressCategory>(["loopback", "private"]);

function blockLists(ranges: [string, number, AddressCategory][], type: "ipv4" | "ipv6") {
  return ranges.map(([network, prefix, category]) => {
    const list = new BlockList();
    list.addSubnet(network, prefix, type);
    return { list, category };
  });
}
const V4 = blockLists(IPV4_RANGES, "ipv4");
const V6 = blockLists(IPV6_RANGES, "ipv6");
const GLOBAL_UNICAST = new BlockList();
GLOBAL_UNICAST.addSubnet("2000::", 3, "ipv6");

/**
 * The address a connection to `address` really reaches, as far as routing goes: IPv4-mapped
 * (::ffff:a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses carry an IPv4 address
 * and are judged as that address.
 */
export function effectiveAddress(address: string): { address: string; family: 4 | 6 } {
  const family = isIP(address);
  if (family === 4) return { address, family };
  if (family !== 6) throw new TypeError(`not an IP address: ${address}`);
  const w = ipv6Words(address);
  const zero = (from: number, to: number) => w.slice(from, to).every((x) => x === 0);
  if (zero(0, 5) && w[5] === 0xffff) return { address: ipv4FromWords(w[6], w[7]), family: 4 };
  if (w[0] === 0x64 && w[1] === 0xff9b && zero(2, 6))
    return { address: ipv4FromWords(w[6], w[7]), family: 4 };
  if (w[0] === 0x2002) return { address: ipv4FromWords(w[1], w[2]), family: 4 };
  return { address: address.split("%")[0] as string, family: 6 };
}

/** The category of an IPv4 or IPv6 address (after `effectiveAddress`). */
export function classifyAddress(address: string): AddressCategory {
  const { address: ip, family } = effectiveAddress(address);
  const type = family === 4 ? "ipv4" : "ipv6";
  for (const { list, category } of family === 4 ? V4 : V6) if (list.check(ip, type)) return category;
  if (family === 6 && !GLOBAL_UNICAST.check(ip, "ipv6")) return "reserved";
  return "public";
}

/**
 * Decides whether a delivery may connect to `address`, reached through `hostname` (the name
 * in the target URL, for hostname allowlist entries; omit it for literal IPs).
 *
 * @example
 * judgeAddress("::ffff:127.0.0.1", { production: true, allowlist: parseAllowlist("") });
 * // { allowed: false, category: "loopback", reason: "::ffff:127.0.0.1 (127.0.0.1) is a loopback address" }
 */
export function judgeAddress(address: string, policy: AddressPolicy, hostname?: string): AddressVerdict {
  if (isIP(address) === 0)
    return { allowed: false, category: "reserved", reason: `${address} is not an IP address` };
  const effective = effectiveAddress(address);
  const category = classifyAddress(address);
  const allowlisted =
    (hostname !== undefined && policy.allowlist.permitsHost(hostname)) ||
    policy.allowlist.permitsAddress(effective.address, effective.family) ||
    (effective.family === 4 && isIP(address) === 6 && policy.allowlist.permitsAddress(address, 6));
  if (allowlisted) return { allowed: true, category, allowlisted: true };
  if (category === "public" || (!policy.production && DEVELOPMENT_ALLOWED.has(category))) {
    return { allowed: true, category, allowlisted: false };
  }
  const shown = effective.address === address ? address : `${address} (${effective.address})`;
  const metadata = METADATA.has(effective.address) ? ", used for cloud instance metadata" : "";
  return { allowed: false, category, reason: `${shown} is ${LABELS[category]}${metadata}` };
}

/** Eight 16-bit words of a valid IPv6 address (zone id dropped, dotted tail converted). */
function ipv6Words(address: string): number[] {
  let text = (address.split("%")[0] as string).toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [b0, b1, b2, b3] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((b0 << 8) | b1).toString(16)}:${((b2 << 8) | b3).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const fill = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill("0");
  return [...left, ...fill, ...right].map((word) => Number.parseInt(word, 16));
}

function ipv4FromWords(high = 0, low = 0): string {
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join(".");
}
