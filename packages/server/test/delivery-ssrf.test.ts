import assert from "node:assert/strict";
import type { LookupAddress } from "node:dns";
import { after, describe, test } from "node:test";
import { isKeelError } from "@keel/engine";
import { parseAllowlist } from "../src/delivery/allowlist.js";
import { createDeliveryAgent, guardedLookup, type Resolver } from "../src/delivery/connector.js";
import { sendDelivery } from "../src/delivery/request.js";
import { parseSigningSecrets } from "../src/delivery/signing.js";
import { type AddressPolicy, classifyAddress, judgeAddress } from "../src/delivery/ssrf.js";
import { attemptTo, newSecret, startEndpoint } from "./fixtures/delivery-servers.js";

const production = (allowlist = ""): AddressPolicy => ({
  production: true,
  allowlist: parseAllowlist(allowlist),
});
const development = (allowlist = ""): AddressPolicy => ({
  production: false,
  allowlist: parseAllowlist(allowlist),
});

// [address, category]: every one refused in production without an allowlist.
const REFUSED: [string, string][] = [
  ["127.0.0.1", "loopback"],
  ["127.255.255.254", "loopback"],
  ["10.0.0.1", "private"],
  ["10.255.255.255", "private"],
  ["172.16.0.1", "private"],
  ["172.31.255.254", "private"],
  ["192.168.1.1", "private"],
  ["169.254.169.254", "link_local"],
  ["169.254.0.1", "link_local"],
  ["100.64.0.1", "cgnat"],
  ["100.127.255.254", "cgnat"],
  ["100.100.100.200", "cgnat"],
  ["0.0.0.0", "unspecified"],
  ["0.1.2.3", "unspecified"],
  ["224.0.0.1", "multicast"],
  ["239.255.255.250", "multicast"],
  ["240.0.0.1", "reserved"],
  ["255.255.255.255", "reserved"],
  ["192.0.0.8", "reserved"],
  ["198.18.0.1", "reserved"],
  ["192.0.2.1", "documentation"],
  ["198.51.100.7", "documentation"],
  ["203.0.113.10", "documentation"],
  ["::1", "loopback"],
  ["::", "unspecified"],
  ["fc00::1", "private"],
  ["fd00:ec2::254", "private"],
  ["fe80::1", "link_local"],
  ["fe80::1%lo", "link_local"],
  ["fec0::1", "reserved"],
  ["ff02::1", "multicast"],
  ["2001:db8::1", "documentation"],
  ["2001::1", "reserved"],
  ["::127.0.0.1", "reserved"],
  ["100::1", "reserved"],
  ["::ffff:127.0.0.1", "loopback"],
  ["::ffff:7f00:1", "loopback"],
  ["::ffff:10.1.2.3", "private"],
  ["::ffff:169.254.169.254", "link_local"],
  ["64:ff9b::7f00:1", "loopback"],
  ["64:ff9b::a9fe:a9fe", "link_local"],
  ["64:ff9b:1::1", "private"],
  ["2002:7f00:1::1", "loopback"],
  ["2002:a9fe:a9fe::", "link_local"],
];

const PUBLIC = [
  "8.8.8.8",
  "1.1.1.1",
  "172.32.0.1",
  "172.15.255.255",
  "100.128.0.1",
  "192.169.0.1",
  "2606:4700:4700::1111",
  "2a00:1450:4001:81b::200e",
  "::ffff:8.8.8.8",
  "64:ff9b::808:808",
  "2002:808:808::1",
];

describe("address policy", () => {
  test("production refuses every special-purpose address, with a reason", () => {
    for (const [address, category] of REFUSED) {
      assert.equal(classifyAddress(address), category, address);
      const verdict = judgeAddress(address, production());
      assert.equal(verdict.allowed, false, `${address} must be refused`);
      if (!verdict.allowed) assert.match(verdict.reason, new RegExp(`^${address.replace(/[.]/g, "\\.")}`));
    }
    const metadata = judgeAddress("169.254.169.254", production());
    assert.ok(!metadata.allowed && /cloud instance metadata/.test(metadata.reason));
    const mapped = judgeAddress("::ffff:127.0.0.1", production());
    assert.ok(!mapped.allowed && mapped.reason === "::ffff:127.0.0.1 (127.0.0.1) is a loopback address");
  });

  test("public addresses pass, including IPv4 embedded in IPv6", () => {
    for (const address of PUBLIC) {
      assert.equal(classifyAddress(address), "public", address);
      assert.equal(judgeAddress(address, production()).allowed, true, address);
    }
  });

  test("development allows loopback and private ranges, nothing else", () => {
    const allowed = [
      "127.0.0.1",
      "::1",
      "10.0.0.1",
      "172.16.0.1",
      "192.168.1.1",
      "fd00::1",
      "::ffff:127.0.0.1",
    ];
    for (const address of allowed) assert.equal(judgeAddress(address, development()).allowed, true, address);
    const refused = [
      "169.254.169.254",
      "fe80::1",
      "100.64.0.1",
      "0.0.0.0",
      "::",
      "224.0.0.1",
      "255.255.255.255",
    ];
    for (const address of refused) assert.equal(judgeAddress(address, development()).allowed, false, address);
  });

  test("the allowlist permits CIDR matches in production", () => {
    const policy = production("127.0.0.0/8, 10.1.0.0/16, 169.254.169.254, fc00::/7 ::1/128");
    for (const address of [
      "127.0.0.1",
      "::ffff:127.0.0.1",
      "10.1.2.3",
      "169.254.169.254",
      "fd12::1",
      "::1",
    ]) {
      const verdict = judgeAddress(address, policy);
      assert.ok(verdict.allowed && verdict.allowlisted, address);
    }
    for (const address of ["10.2.0.1", "169.254.169.253", "192.168.0.1", "fe80::1"]) {
      assert.equal(judgeAddress(address, policy).allowed, false, address);
    }
  });

  test("the allowlist permits hostnames and *.wildcards (any depth, not the apex)", () => {
    const policy = production("hooks.internal, *.svc.cluster.local, Bücher.example");
    assert.ok(judgeAddress("10.0.0.5", policy, "hooks.internal").allowed);
    assert.ok(judgeAddress("10.0.0.5", policy, "hooks.internal.").allowed, "a trailing dot is the same name");
    assert.ok(judgeAddress("10.0.0.5", policy, "billing.svc.cluster.local").allowed);
    assert.ok(judgeAddress("10.0.0.5", policy, "a.b.svc.cluster.local").allowed);
    assert.ok(
      judgeAddress("10.0.0.5", policy, "xn--bcher-kva.example").allowed,
      "entries compare as punycode",
    );
    assert.equal(judgeAddress("10.0.0.5", policy, "svc.cluster.local").allowed, false);
    assert.equal(judgeAddress("10.0.0.5", policy, "evilsvc.cluster.local").allowed, false);
    assert.equal(judgeAddress("10.0.0.5", policy, "hooks.internal.evil.com").allowed, false);
    assert.equal(
      judgeAddress("10.0.0.5", policy).allowed,
      false,
      "a literal IP never matches a hostname entry",
    );
  });

  test("KEEL_TARGET_ALLOWLIST: every bad entry is reported", () => {
    assert.throws(
      () =>
        parseAllowlist("ok.example, 10.0.0.0/33, a/b, http://x.example, *.*.example, 2130706433, ::1/129"),
      (err: unknown) => {
        assert.ok(isKeelError(err, "invalid_config"));
        const list = err.details.list as string[];
        assert.equal(list.length, 6, list.join("\n"));
        return true;
      },
    );
    assert.deepEqual(parseAllowlist(["a.example", "10.0.0.0/8 , ::1"]).entries, [
      "a.example",
      "10.0.0.0/8",
      "::1",
    ]);
    assert.deepEqual(parseAllowlist(undefined).entries, []);
  });

  test("WHATWG URL turns decimal, hex, octal and short IPv4 forms into dotted quads", () => {
    for (const form of ["2130706433", "0x7f000001", "0177.0.0.1", "127.1", "0x7f.1"]) {
      assert.equal(new URL(`http://${form}/`).hostname, "127.0.0.1", form);
    }
    assert.equal(new URL("http://0/").hostname, "0.0.0.0");
    assert.equal(new URL("http://[::ffff:127.0.0.1]/").hostname, "[::ffff:7f00:1]");
  });
});

describe("deliveries are checked on the address connected to", async () => {
  const endpoint = await startEndpoint((_req, res) => res.end("ok"));
  after(() => endpoint.close());
  const signingKeys = parseSigningSecrets([newSecret()]);

  /** Sends one attempt through a fresh guarded agent; the agent is closed afterwards. */
  async function deliver(url: string, policy: AddressPolicy, resolve?: Resolver) {
    const agent = createDeliveryAgent(policy, { resolve });
    try {
      return await sendDelivery(attemptTo(url), { dispatcher: agent, signingKeys, timeoutMs: 5_000 });
    } finally {
      await agent.close();
    }
  }

  test("literal loopback forms are refused in production before connecting", async () => {
    const before = endpoint.connections;
    for (const host of [
      "127.0.0.1",
      "2130706433",
      "0x7f000001",
      "0177.0.0.1",
      "127.1",
      "[::ffff:127.0.0.1]",
      "0.0.0.0",
    ]) {
      const result = await deliver(`http://${host}:${endpoint.port}/`, production());
      assert.equal(result.ok, false, host);
      assert.equal(result.error?.code, "delivery_address_refused", host);
      assert.match(result.error?.message ?? "", /KEEL_TARGET_ALLOWLIST/);
      assert.equal(result.status, undefined);
    }
    assert.equal(endpoint.connections, before, "no connection was opened");
    assert.equal(endpoint.received.length, 0);
  });

  test("the same forms really reach loopback when allowed (so the refusal matters)", async () => {
    for (const host of ["2130706433", "0x7f000001", "[::ffff:127.0.0.1]"]) {
      const result = await deliver(`http://${host}:${endpoint.port}/`, production("127.0.0.0/8"));
      assert.equal(result.status, 200, host);
    }
    const dev = await deliver(`http://127.0.0.1:${endpoint.port}/`, development());
    assert.equal(dev.ok, true);
    // 0.0.0.0 reaches this host on Linux: refused even in development.
    const unspecified = await deliver(`http://0.0.0.0:${endpoint.port}/`, development());
    assert.equal(unspecified.error?.code, "delivery_address_refused");
  });

  test("hostname wildcard allowlist: a matching name may resolve to loopback", async () => {
    const toLoopback: Resolver = async () => [{ address: "127.0.0.1", family: 4 }];
    const policy = production("*.hooks.keel.test");
    const allowed = await deliver(`http://a.b.hooks.keel.test:${endpoint.port}/`, policy, toLoopback);
    assert.equal(allowed.status, 200);
    const apex = await deliver(`http://hooks.keel.test:${endpoint.port}/`, policy, toLoopback);
    assert.equal(apex.error?.code, "delivery_address_refused");
    assert.match(apex.error?.message ?? "", /hooks\.keel\.test: 127\.0\.0\.1 is a loopback address/);
  });

  test("DNS rebinding: a public answer for the check, loopback for the connection, is refused", async () => {
    // 203.0.113.10 (TEST-NET-3) stands in for a public address: allowlisted so the policy passes
    // it, and never connected to.
    const policy = production("203.0.113.0/24");
    const answers: LookupAddress[][] = [
      [{ address: "203.0.113.10", family: 4 }],
      [{ address: "127.0.0.1", family: 4 }],
    ];
    let calls = 0;
    const rebinding: Resolver = async () => answers[Math.min(calls++, answers.length - 1)] ?? [];

    // What a check-then-fetch design would see: the first lookup passes.
    const checked = await new Promise<unknown>((resolve, reject) =>
      guardedLookup(policy, rebinding)("rebind.keel.test", { all: true }, (err, addresses) =>
        err ? reject(err) : resolve(addresses),
      ),
    );
    assert.deepEqual(checked, [{ address: "203.0.113.10", family: 4 }]);

    // The connection resolves again, gets 127.0.0.1, and is refused before any socket opens.
    const before = endpoint.connections;
    const result = await deliver(`http://rebind.keel.test:${endpoint.port}/`, policy, rebinding);
    assert.equal(calls, 2);
    assert.equal(result.error?.code, "delivery_address_refused");
    assert.match(result.error?.message ?? "", /rebind\.keel\.test: 127\.0\.0\.1 is a loopback address/);
    assert.equal(endpoint.connections, before, "loopback was never connected to");
  });

  test("one refused answer among several refuses the name (no fallback to the bad one)", async () => {
    const mixed: Resolver = async () => [
      { address: "203.0.113.10", family: 4 },
      { address: "127.0.0.1", family: 4 },
    ];
    const before = endpoint.connections;
    const result = await deliver(
      `http://mixed.keel.test:${endpoint.port}/`,
      production("203.0.113.0/24"),
      mixed,
    );
    assert.equal(result.error?.code, "delivery_address_refused");
    assert.equal(endpoint.connections, before);
  });

  test("a name that resolves to nothing is a network error", async () => {
    const nothing: Resolver = async () => [];
    const result = await deliver(`http://gone.keel.test:${endpoint.port}/`, development(), nothing);
    assert.equal(result.error?.code, "delivery_network");
    assert.match(result.error?.message ?? "", /ENOTFOUND/);
  });
});
