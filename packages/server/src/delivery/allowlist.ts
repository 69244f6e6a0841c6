import { BlockList, isIP } from "node:net";
import { domainToASCII } from "node:url";
import { KeelError } from "@keel/engine";

/**
 * Targets the operator trusts despite the SSRF policy (`KEEL_TARGET_ALLOWLIST`). A hostname
 * entry trusts whatever that name resolves to; a CIDR entry trusts those addresses whatever
 * name led there.
 */
export interface Allowlist {
  /** True when the target's hostname (as written in its URL) is listed. */
  permitsHost(hostname: string): boolean;
  /** True when the address (IPv4, or IPv6; IPv4-mapped IPv6 counts as IPv4) is in a listed range. */
  permitsAddress(address: string, family: 4 | 6): boolean;
  /** The entries as given, for logs. */
  readonly entries: readonly string[];
}

const NAME_CHARS = /^[\p{L}\p{M}\p{N}._-]+$/u;
const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

/**
 * Parses `KEEL_TARGET_ALLOWLIST`: a comma- or space-separated list of hostnames (`hooks.internal`), wildcards
 * (`*.svc.cluster.local`: any name ending in `.svc.cluster.local`, at any depth, not the name
 * itself), IP addresses and CIDRs (`10.1.0.0/16`, `fd00:ec2::/32`). Reports every bad entry.
 *
 * @example
 * const allow = parseAllowlist("billing.internal, *.svc.cluster.local, 10.20.0.0/16");
 * allow.permitsHost("api.default.svc.cluster.local"); // true
 */
export function parseAllowlist(text: string | readonly string[] | undefined): Allowlist {
  const hosts = new Set<string>();
  const suffixes: string[] = [];
  const ranges = new BlockList();
  const problems: string[] = [];
  const entries = (typeof text === "string" ? [text] : (text ?? []))
    .flatMap((part) => part.split(/[\s,]+/))
    .filter((e) => e !== "");
  for (const entry of entries) {
    const cidr = parseCidr(entry);
    if (cidr) {
      ranges.addSubnet(cidr.network, cidr.prefix, cidr.family === 4 ? "ipv4" : "ipv6");
      continue;
    }
    const wildcard = entry.startsWith("*.");
    const name = normalizeHostname(wildcard ? entry.slice(2) : entry);
    if (name === undefined) {
      problems.push(
        `KEEL_TARGET_ALLOWLIST entry ${JSON.stringify(entry)} is not a hostname, *.wildcard, IP address or CIDR (e.g. hooks.internal, *.svc.cluster.local, 10.0.0.0/8)`,
      );
    } else if (wildcard) suffixes.push(`.${name}`);
    else hosts.add(name);
  }
  if (problems.length > 0) {
    throw new KeelError("invalid_config", { problems: `- ${problems.join("\n- ")}`, list: problems });
  }
  return {
    entries,
    permitsHost(hostname) {
      const name = normalizeHostname(hostname);
      if (name === undefined) return false;
      return hosts.has(name) || suffixes.some((s) => name.endsWith(s));
    },
    permitsAddress(address, family) {
      return ranges.check(address, family === 4 ? "ipv4" : "ipv6");
    },
  };
}

/** Lowercase ASCII (punycode) without a trailing dot, or undefined when not a hostname. */
export function normalizeHostname(hostname: string): string | undefined {
  // domainToASCII drops what follows a '/' or ':'; only name characters may reach it.
  if (!NAME_CHARS.test(hostname)) return undefined;
  const ascii = domainToASCII(hostname.replace(/\.$/, ""));
  if (ascii === "" || isIP(ascii) !== 0) return undefined;
  return ascii.split(".").every((label) => LABEL.test(label)) ? ascii : undefined;
}

function parseCidr(entry: string): { network: string; prefix: number; family: 4 | 6 } | undefined {
  const [address = "", bits, extra] = entry.split("/");
  const family = isIP(address);
  if (extra !== undefined || (family !== 4 && family !== 6)) return undefined;
  const max = family === 4 ? 32 : 128;
  if (bits === undefined) return { network: address, prefix: max, family };
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return undefined;
  return { network: address, prefix: Number(bits), family };
}
