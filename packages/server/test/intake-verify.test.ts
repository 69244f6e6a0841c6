import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import type { Provider, Source, SourceSettings } from "@keel/engine";
import { parseStandardSecret, verifyStandard } from "@keel/protocol/webhooks";
import fc from "fast-check";
import { Webhook as StandardWebhook } from "standardwebhooks";
import Stripe from "stripe";
import { Webhook as SvixWebhook } from "svix";
import { VERIFIERS } from "../src/intake/providers/index.js";
import type { Verdict } from "../src/intake/verify.js";

// The verifiers on their own: official vectors, headers made by the providers' own packages,
// and property-based forgeries. No server or database here (see intake-http.test.ts).

const stripeClient = new Stripe("sk_test_unused");
const NOW = 1_700_000_000;

function source(provider: Provider, settings: SourceSettings = {}): Source {
  return {
    name: "src",
    provider,
    secrets: [],
    settings,
    routes: [],
    bodyLimitBytes: 1024 * 1024,
    retentionSeconds: 86_400,
    managedBy: "api",
    createdAt: new Date(0),
    updatedAt: new Date(0),
  };
}

function verify(
  provider: Provider,
  headers: Record<string, string>,
  body: string | Buffer,
  secrets: string[],
  options: { now?: number; settings?: SourceSettings } = {},
): Promise<Verdict> {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return Promise.resolve(
    VERIFIERS[provider](
      { headers: lower, body: Buffer.from(body), now: options.now ?? NOW },
      source(provider, options.settings),
      secrets,
    ),
  );
}

const hex = (algorithm: string, key: string, data: string) =>
  createHmac(algorithm, key).update(data).digest("hex");
const b64 = (algorithm: string, key: string, data: string) =>
  createHmac(algorithm, key).update(data).digest("base64");
const whsec = () => `whsec_${randomBytes(24).toString("base64")}`;

describe("official vectors and the providers' own packages", () => {
  test("Standard Webhooks: the ANCHORS vector", async () => {
    const verdict = await verify(
      "standard",
      {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
      },
      '{"test": 2432232314}',
      ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
      { now: 1614265330 },
    );
    assert.deepEqual(verdict, {
      ok: true,
      secret: 1,
      timestamp: 1614265330,
      eventId: "msg_p5jXN8AQM9LWM0D4loKWxJek",
      type: null,
    });
  });

  test("Standard Webhooks: node:crypto verification answers as @keel/protocol's, malleated signatures refused", async () => {
    const id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const body = '{"test": 2432232314}';
    const good = "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const other = whsec();
    // Decoders drop the low bits of the last character: `…OE=` and `…OF=` decode alike.
    const malleated = `${good.slice(0, -2)}F=`;
    const cases: [string, string[]][] = [
      [`v1,${good}`, [secret]],
      [`v1,${malleated}`, [secret]],
      [`v1,${good.slice(0, -1)}`, [secret]],
      [`v1,AAAA v1,${good}`, [other, secret]],
      [`v1,${good}`, [other]],
      [`v2,${good} v1,${good}`, [secret, secret]],
    ];
    for (const [header, secrets] of cases) {
      const content = { id, timestamp: "1614265330", body };
      const expected = await verifyStandard(content, header, secrets.map(parseStandardSecret));
      const verdict = await verify(
        "standard",
        { "webhook-id": id, "webhook-timestamp": "1614265330", "webhook-signature": header },
        body,
        secrets,
        { now: 1614265330 },
      );
      assert.equal(verdict.ok ? verdict.secret : 0, expected, header);
    }
    assert.equal(
      await verifyStandard({ id, timestamp: 1614265330, body }, `v1,${malleated}`, [
        parseStandardSecret(secret),
      ]),
      0,
    );
  });

  test("GitHub: the ANCHORS vector", async () => {
    const verdict = await verify(
      "github",
      {
        "X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "X-GitHub-Event": "issues",
      },
      "Hello, World!",
      ["It's a Secret to Everybody"],
    );
    assert.deepEqual(verdict, {
      ok: true,
      secret: 1,
      eventId: "72d3162e-cc78-11e3-81ab-4c9367dc0958",
      type: "issues",
    });
  });

  test("Stripe: headers from stripe.webhooks.generateTestHeaderString", async () => {
    const secret = `whsec_${randomBytes(16).toString("hex")}`;
    const payload = JSON.stringify({ id: "evt_1", type: "invoice.paid", data: { object: { amount: 1200 } } });
    const header = stripeClient.webhooks.generateTestHeaderString({ payload, secret, timestamp: NOW });
    assert.deepEqual(await verify("stripe", { "Stripe-Signature": header }, payload, [secret]), {
      ok: true,
      secret: 1,
      timestamp: NOW,
      eventId: "evt_1",
      type: "invoice.paid",
    });
    // And Stripe's own verifier agrees on what we accept.
    const event = stripeClient.webhooks.constructEvent(payload, header, secret, Number.MAX_SAFE_INTEGER);
    assert.equal(event.id, "evt_1");
  });

  test("Standard Webhooks and Svix: headers from the standardwebhooks and svix packages", async () => {
    const secret = whsec();
    const body = JSON.stringify({ type: "user.created", data: { id: 7 } });
    const signature = new StandardWebhook(secret).sign("msg_std", new Date(NOW * 1000), body);
    assert.deepEqual(
      await verify(
        "standard",
        { "webhook-id": "msg_std", "webhook-timestamp": String(NOW), "webhook-signature": signature },
        body,
        [secret],
      ),
      { ok: true, secret: 1, timestamp: NOW, eventId: "msg_std", type: "user.created" },
    );
    const svix = new SvixWebhook(secret).sign("msg_svix", new Date(NOW * 1000), body);
    assert.deepEqual(
      await verify(
        "standard",
        { "svix-id": "msg_svix", "svix-timestamp": String(NOW), "svix-signature": svix },
        body,
        [secret],
      ),
      { ok: true, secret: 1, timestamp: NOW, eventId: "msg_svix", type: "user.created" },
    );
  });

  test("Shopify, RevenueCat, generic HMAC and bearer", async () => {
    const secret = randomBytes(16).toString("hex");
    const order = '{"id":820982911946154508,"email":"jon@example.com"}';
    assert.deepEqual(
      await verify(
        "shopify",
        {
          "X-Shopify-Hmac-SHA256": b64("sha256", secret, order),
          "X-Shopify-Topic": "orders/create",
          "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        },
        order,
        [secret],
      ),
      { ok: true, secret: 1, eventId: "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", type: "orders/create" },
    );
    const rc = JSON.stringify({ api_version: "1.0", event: { id: "rc-9", type: "INITIAL_PURCHASE" } });
    assert.deepEqual(
      await verify("revenuecat", { Authorization: "Bearer rc-secret" }, rc, ["Bearer rc-secret"]),
      {
        ok: true,
        secret: 1,
        eventId: "rc-9",
        type: "INITIAL_PURCHASE",
      },
    );
    const form = "event=charge.done&id=42";
    const settings: SourceSettings = {
      hmac: { header: "X-Signature", algorithm: "sha1", prefix: "sha1=" },
      eventId: { header: "X-Event-Id" },
    };
    assert.deepEqual(
      await verify(
        "hmac",
        { "X-Signature": `sha1=${hex("sha1", secret, form)}`, "X-Event-Id": "e-1" },
        form,
        [secret],
        {
          settings,
        },
      ),
      { ok: true, secret: 1, eventId: "e-1", type: null },
    );
    const timed: SourceSettings = {
      hmac: {
        header: "X-Sig",
        algorithm: "sha512",
        encoding: "base64",
        timestampHeader: "X-Time",
        signed: "v0:{timestamp}:{body}",
      },
      eventType: { path: "kind" },
      eventId: { path: "meta.id" },
    };
    const json = '{"kind":"paid","meta":{"id":"m1"}}';
    assert.deepEqual(
      await verify(
        "hmac",
        { "X-Sig": b64("sha512", secret, `v0:${NOW}:${json}`), "X-Time": String(NOW) },
        json,
        [secret],
        { settings: timed },
      ),
      { ok: true, secret: 1, timestamp: NOW, eventId: "m1", type: "paid" },
    );
    assert.deepEqual(await verify("bearer", { Authorization: `Bearer ${secret}` }, "{}", [secret]), {
      ok: true,
      secret: 1,
      eventId: null,
      type: null,
    });
  });

  test("refusals name the missing header and never contain a secret or the expected signature", async () => {
    const secret = whsec();
    const missing = await verify("stripe", {}, "{}", [secret]);
    assert.deepEqual(missing, {
      ok: false,
      reason: "missing_signature",
      params: { header: "Stripe-Signature" },
    });
    const forged = await verify("stripe", { "Stripe-Signature": `t=${NOW},v1=${"0".repeat(64)}` }, "{}", [
      secret,
    ]);
    assert.equal(forged.ok, false);
    assert.equal((forged as { reason: string }).reason, "bad_signature");
    const expected = hex("sha256", secret, `${NOW}.{}`);
    // Substrings, not a pattern: a base64 secret holds `+` and `/`.
    const refusal = JSON.stringify(forged);
    assert.ok(!refusal.includes(expected), "the expected signature is not in the refusal");
    assert.ok(!refusal.includes(secret), "the secret is not in the refusal");
    const malformed = await verify("stripe", { "Stripe-Signature": "garbage" }, "{}", [secret]);
    assert.match(JSON.stringify(malformed), /no t= timestamp or no v1= signature/);
  });
});

// Each provider: how to sign (with its own package where one exists), which headers carry the
// signature, and how to move the signed timestamp without signing again.
interface SigningCase {
  provider: Provider;
  settings?: SourceSettings;
  secret: fc.Arbitrary<string>;
  sign(secret: string, body: string, timestamp: number): Record<string, string>;
  signed: string[];
  timestamp?: { header: string; set(value: string, timestamp: number): string };
}

const textSecret = fc.string({ minLength: 8, maxLength: 40, unit: "grapheme-ascii" });
const whsecSecret = fc
  .uint8Array({ minLength: 24, maxLength: 32 })
  .map((b) => `whsec_${Buffer.from(b).toString("base64")}`);

const CASES: SigningCase[] = [
  {
    provider: "stripe",
    secret: whsecSecret,
    sign: (secret, payload, timestamp) => ({
      "stripe-signature": stripeClient.webhooks.generateTestHeaderString({ payload, secret, timestamp }),
    }),
    signed: ["stripe-signature"],
    timestamp: { header: "stripe-signature", set: (v, t) => v.replace(/^t=\d+/, `t=${t}`) },
  },
  {
    provider: "standard",
    secret: whsecSecret,
    sign: (secret, body, timestamp) => ({
      "webhook-id": "msg_prop",
      "webhook-timestamp": String(timestamp),
      "webhook-signature": new StandardWebhook(secret).sign("msg_prop", new Date(timestamp * 1000), body),
    }),
    signed: ["webhook-id", "webhook-timestamp", "webhook-signature"],
    timestamp: { header: "webhook-timestamp", set: (_, t) => String(t) },
  },
  {
    provider: "github",
    secret: textSecret,
    sign: (secret, body) => ({ "x-hub-signature-256": `sha256=${hex("sha256", secret, body)}` }),
    signed: ["x-hub-signature-256"],
  },
  {
    provider: "shopify",
    secret: textSecret,
    sign: (secret, body) => ({ "x-shopify-hmac-sha256": b64("sha256", secret, body) }),
    signed: ["x-shopify-hmac-sha256"],
  },
  {
    provider: "hmac",
    settings: { hmac: { header: "x-sig", timestampHeader: "x-ts", encoding: "hex", prefix: "v1=" } },
    secret: textSecret,
    sign: (secret, body, timestamp) => ({
      "x-sig": `v1=${hex("sha256", secret, `${timestamp}.${body}`)}`,
      "x-ts": String(timestamp),
    }),
    signed: ["x-sig", "x-ts"],
    timestamp: { header: "x-ts", set: (_, t) => String(t) },
  },
];

// A replacement character that differs from `c` even ignoring case (hex digests compare so).
function otherChar(c: string, pick: number): string {
  const pool = "0123456789abcdefghijklmnopqrstuvwxyz+/=,.";
  const options = [...pool].filter((x) => x.toLowerCase() !== c.toLowerCase());
  return options[pick % options.length] as string;
}

type Mutation =
  | { kind: "body"; at: number; byte: number }
  | { kind: "append"; byte: number }
  | { kind: "header"; which: number; at: number; pick: number }
  | { kind: "drop"; which: number }
  | { kind: "timestamp"; shift: number }
  | { kind: "secret" };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("body" as const), at: fc.nat(), byte: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant("append" as const), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("header" as const), which: fc.nat(), at: fc.nat(), pick: fc.nat() }),
  fc.record({ kind: fc.constant("drop" as const), which: fc.nat() }),
  fc.record({
    kind: fc.constant("timestamp" as const),
    shift: fc.integer({ min: -299, max: 299 }).filter((s) => s !== 0),
  }),
  fc.record({ kind: fc.constant("secret" as const) }),
);

describe("forgeries (fast-check)", () => {
  for (const c of CASES) {
    test(`${c.provider}: no single mutation of body, headers, timestamp or secret is accepted`, async () => {
      await fc.assert(
        fc.asyncProperty(
          c.secret,
          c.secret,
          fc.string({ unit: "binary", maxLength: 200 }),
          mutation,
          async (secret, other, text, m) => {
            fc.pre(other !== secret);
            const headers = c.sign(secret, text, NOW);
            assert.equal(
              (await verify(c.provider, headers, text, [secret], { settings: c.settings })).ok,
              true,
              "the original passes",
            );
            let body = Buffer.from(text);
            let secrets = [secret];
            const forged = { ...headers };
            switch (m.kind) {
              case "body": {
                if (body.length === 0) return;
                body = Buffer.from(body);
                const at = m.at % body.length;
                body[at] = ((body[at] as number) + m.byte) % 256;
                break;
              }
              case "append":
                body = Buffer.concat([body, Buffer.from([m.byte])]);
                break;
              case "header": {
                const name = c.signed[m.which % c.signed.length] as string;
                const value = forged[name] as string;
                const at = m.at % value.length;
                forged[name] =
                  value.slice(0, at) + otherChar(value[at] as string, m.pick) + value.slice(at + 1);
                break;
              }
              case "drop":
                delete forged[c.signed[m.which % c.signed.length] as string];
                break;
              case "timestamp":
                if (!c.timestamp) return;
                forged[c.timestamp.header] = c.timestamp.set(
                  forged[c.timestamp.header] as string,
                  NOW + m.shift,
                );
                break;
              case "secret":
                secrets = [other];
                break;
            }
            const verdict = await verify(c.provider, forged, body, secrets, { settings: c.settings });
            assert.equal(verdict.ok, false, `accepted after ${JSON.stringify(m)}`);
          },
        ),
        { numRuns: 300 },
      );
    });
  }

  for (const c of CASES.filter((x) => x.timestamp)) {
    test(`${c.provider}: signed timestamps within 300 s either way pass, from 301 s they are refused`, async () => {
      await fc.assert(
        fc.asyncProperty(
          c.secret,
          fc.integer({ min: -300, max: 300 }),
          fc.integer({ min: 301, max: 100_000 }),
          fc.boolean(),
          async (secret, inside, outside, past) => {
            const body = '{"id":"evt"}';
            const ok = await verify(c.provider, c.sign(secret, body, NOW + inside), body, [secret], {
              settings: c.settings,
            });
            assert.equal(ok.ok, true, `offset ${inside}`);
            const stale = NOW + (past ? -outside : outside);
            const refused = await verify(c.provider, c.sign(secret, body, stale), body, [secret], {
              settings: c.settings,
            });
            assert.deepEqual(refused, {
              ok: false,
              reason: "timestamp_out_of_tolerance",
              params: { age: NOW - stale, tolerance: 300 },
            });
          },
        ),
        { numRuns: 200 },
      );
      const tight = { ...c.settings, toleranceSeconds: 10 };
      const secret = c.provider === "stripe" || c.provider === "standard" ? whsec() : "s3cret-value";
      assert.equal(
        (await verify(c.provider, c.sign(secret, "{}", NOW - 10), "{}", [secret], { settings: tight })).ok,
        true,
      );
      assert.equal(
        (await verify(c.provider, c.sign(secret, "{}", NOW - 11), "{}", [secret], { settings: tight })).ok,
        false,
      );
    });
  }

  for (const c of CASES) {
    test(`${c.provider}: during rotation the old secret passes while listed, and not once removed`, async () => {
      await fc.assert(
        fc.asyncProperty(c.secret, c.secret, async (current, old) => {
          fc.pre(current !== old);
          const headers = c.sign(old, "{}", NOW);
          const both = await verify(c.provider, headers, "{}", [current, old], { settings: c.settings });
          assert.deepEqual(
            { ok: both.ok, secret: (both as { secret?: number }).secret },
            { ok: true, secret: 2 },
          );
          assert.equal(
            (await verify(c.provider, headers, "{}", [current], { settings: c.settings })).ok,
            false,
          );
        }),
        { numRuns: 100 },
      );
    });
  }

  test("bearer and revenuecat: any other value is refused, whatever its length", async () => {
    await fc.assert(
      fc.asyncProperty(
        textSecret,
        fc.string({ maxLength: 80, unit: "grapheme-ascii" }),
        async (secret, guess) => {
          fc.pre(guess !== secret);
          assert.equal((await verify("revenuecat", { authorization: guess }, "{}", [secret])).ok, false);
          assert.equal(
            (await verify("bearer", { authorization: `Bearer ${guess}` }, "{}", [secret])).ok,
            false,
          );
          assert.equal((await verify("revenuecat", { authorization: secret }, "{}", [secret])).ok, true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
