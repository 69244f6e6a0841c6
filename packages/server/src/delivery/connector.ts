import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import { isIP, type LookupFunction } from "node:net";
import type { Agent, buildConnector } from "undici";
import { AddressRefusedError } from "./errors.js";
import { type AddressPolicy, judgeAddress } from "./ssrf.js";
import { undici } from "./undici.js";

/** A DNS resolver: every address of a hostname. Injectable so tests can play a rebinding resolver. */
export type Resolver = (hostname: string) => Promise<readonly LookupAddress[]>;

/** The system resolver (getaddrinfo, as Node's http uses), every address in its order. */
export const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) =>
      err ? reject(err) : resolve(addresses),
    ),
  );

/**
 * A `lookup` for net/tls.connect that resolves once and vets every answer before the socket
 * connects: the addresses judged are the only ones the socket can use, so a resolver that
 * answers a public address to a check and 127.0.0.1 to the connection has nothing to exploit.
 * One refused answer refuses the whole name.
 */
export function guardedLookup(policy: AddressPolicy, resolve: Resolver = systemResolver): LookupFunction {
  return (hostname: string, options: LookupOptions, callback) => {
    resolve(hostname).then(
      (answers) => {
        // Every answer is judged, even those of a family this socket will not use.
        for (const { address } of answers) {
          const verdict = judgeAddress(address, policy, hostname);
          if (!verdict.allowed) return callback(refusal(hostname, verdict.reason), "", 0);
        }
        const wanted = familyOf(options.family);
        const addresses = answers.filter((a) => wanted === undefined || a.family === wanted);
        const first = addresses[0];
        if (!first) {
          const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
          err.code = "ENOTFOUND";
          return callback(err, "", 0);
        }
        if (!options.all) return callback(null, first.address, first.family);
        callback(null, addresses);
      },
      (err: NodeJS.ErrnoException) => callback(err, "", 0),
    );
  };
}

/**
 * An undici connector enforcing the policy: literal IPs (which net.connect never looks up) are
 * judged before connecting, names go through `guardedLookup`, and the socket's remote address
 * is judged again once connected, before any request byte is written.
 */
export function guardedConnector(
  policy: AddressPolicy,
  options: { resolve?: Resolver; connectTimeoutMs?: number } = {},
): buildConnector.connector {
  const connect = undici().buildConnector({
    lookup: guardedLookup(policy, options.resolve),
    timeout: options.connectTimeoutMs ?? 10_000,
  });
  return (opts, callback) => {
    const literal = isIP(opts.hostname) !== 0;
    if (literal) {
      const verdict = judgeAddress(opts.hostname, policy);
      if (!verdict.allowed) return callback(refusal(opts.hostname, verdict.reason), null);
    }
    connect(opts, (err, socket) => {
      if (err || !socket) return callback(err ?? new Error("connect failed without an error"), null);
      const remote = socket.remoteAddress;
      const verdict = remote
        ? judgeAddress(remote, policy, literal ? undefined : opts.hostname)
        : { allowed: false as const, reason: "the connected address is unknown" };
      if (verdict.allowed) return callback(null, socket);
      socket.destroy();
      callback(refusal(opts.hostname, verdict.reason), null);
    });
  };
}

/**
 * The keep-alive Agent deliveries go through: every new connection passes the SSRF policy.
 * Pooled connections stay on the address they were vetted on, so DNS changes cannot move them.
 *
 * @example
 * const agent = createDeliveryAgent({ production: true, allowlist: parseAllowlist(process.env.KEEL_TARGET_ALLOWLIST) });
 */
export function createDeliveryAgent(
  policy: AddressPolicy,
  options: { resolve?: Resolver; connectTimeoutMs?: number } = {},
): Agent {
  return new (undici().Agent)({ connect: guardedConnector(policy, options) });
}

function familyOf(family: LookupOptions["family"]): 4 | 6 | undefined {
  if (family === 4 || family === "IPv4") return 4;
  if (family === 6 || family === "IPv6") return 6;
  return undefined;
}

function refusal(hostname: string, reason: string): AddressRefusedError {
  return new AddressRefusedError(`${hostname}: ${reason}`);
}
