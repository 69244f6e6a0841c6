/**
 * verifyDelivery on its own: the Standard Webhooks vector from ANCHORS.md, signatures made by the
 * independent `standardwebhooks` package, forged, tampered and stale inputs, rotation, and the
 * typed details of a delivery.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Webhook } from "standardwebhooks";
import {
  createDeliveryVerifier,
  DeliveryVerificationError,
  type VerificationFailure,
  verifyDelivery,
} from "../src/index.js";

// ANCHORS.md, "Standard Webhooks".
const VECTOR = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};
const KEEL = { "keel-job-id": "17", "keel-attempt": "2", "keel-queue": "hooks" };
const OLD = "whsec_b2xkLXNlY3JldC1vbGQtc2VjcmV0LW9sZC1zZWNyZXQ=";
const NEW = "whsec_bmV3LXNlY3JldC1uZXctc2VjcmV0LW5ldy1zZWNyZXQ=";

/** A delivery as Keel sends it, signed by `standardwebhooks` with each secret. */
function signed(
  secrets: string[],
  overrides: Record<string, string> = {},
  body = '{"userId":42}',
  at = Date.now(),
) {
  const id = "msg_17";
  const signature = secrets.map((s) => new Webhook(s).sign(id, new Date(at), body)).join(" ");
  const headers: Record<string, string> = {
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(at / 1000)),
    "webhook-signature": signature,
    ...KEEL,
    ...overrides,
  };
  return { headers, body };
}

async function refusal(fn: () => Promise<unknown>): Promise<VerificationFailure> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof DeliveryVerificationError, String(err));
    assert.equal(err.code, "delivery_verification_failed");
    assert.equal(err.status, 401);
    return err.reason;
  }
  assert.fail("expected a DeliveryVerificationError");
}

test("the Standard Webhooks vector verifies; any change to it does not", async () => {
  const now = () => VECTOR.timestamp * 1000;
  const headers = {
    "webhook-id": VECTOR.id,
    "webhook-timestamp": String(VECTOR.timestamp),
    "webhook-signature": VECTOR.signature,
    ...KEEL,
  };
  const delivery = await verifyDelivery({ headers, body: VECTOR.body }, { secrets: VECTOR.secret, now });
  assert.deepEqual(delivery.payload, { test: 2432232314 });
  assert.equal(delivery.body, VECTOR.body);
  assert.equal(delivery.webhookId, VECTOR.id);
  assert.equal(delivery.timestamp.getTime(), VECTOR.timestamp * 1000);
  const bytes = new TextEncoder().encode(VECTOR.body);
  assert.equal(
    (await verifyDelivery({ headers, body: bytes }, { secrets: [VECTOR.secret], now })).body,
    VECTOR.body,
  );

  const verify = createDeliveryVerifier({ secrets: VECTOR.secret, now });
  assert.equal(await refusal(() => verify({ headers, body: '{"test": 2432232315}' })), "bad_signature");
  assert.equal(await refusal(() => verify({ headers, body: `${VECTOR.body} ` })), "bad_signature");
  assert.equal(
    await refusal(() => verify({ headers: { ...headers, "webhook-id": "msg_other" }, body: VECTOR.body })),
    "bad_signature",
  );
  assert.equal(
    await refusal(() =>
      verify({
        headers: { ...headers, "webhook-timestamp": String(VECTOR.timestamp + 1) },
        body: VECTOR.body,
      }),
    ),
    "bad_signature",
  );
  const other = createDeliveryVerifier({ secrets: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSx", now });
  assert.equal(await refusal(() => other({ headers, body: VECTOR.body })), "bad_signature");
});

test("forged and malformed signature headers are refused with a stable reason", async () => {
  const verify = createDeliveryVerifier({ secrets: NEW });
  const good = signed([NEW]);
  for (const forged of [
    "v1,AAAA",
    "v1,",
    "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    `v1a,${good.headers["webhook-signature"]?.slice(3)}`,
    "garbage",
    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
  ]) {
    assert.equal(
      await refusal(() => verify({ ...good, headers: { ...good.headers, "webhook-signature": forged } })),
      "bad_signature",
      forged,
    );
  }
  for (const name of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
    const { [name]: _, ...rest } = good.headers;
    assert.equal(await refusal(() => verify({ ...good, headers: rest })), "missing_signature", name);
  }
  assert.equal(
    await refusal(() => verify({ ...good, headers: { ...good.headers, "webhook-timestamp": "1e9" } })),
    "invalid_timestamp",
  );
  // Among several entries (rotation), one valid is enough.
  const padded = `v1,AAAA ${good.headers["webhook-signature"]} v2,xyz`;
  assert.equal(
    (await verify({ ...good, headers: { ...good.headers, "webhook-signature": padded } })).jobId,
    "17",
  );
});

test("timestamps outside the tolerance are refused (default 5 minutes, configurable)", async () => {
  const verify = createDeliveryVerifier({ secrets: NEW });
  const sixMinutes = 6 * 60 * 1000;
  assert.equal(
    await refusal(() => verify(signed([NEW], {}, "{}", Date.now() - sixMinutes))),
    "timestamp_out_of_tolerance",
  );
  assert.equal(
    await refusal(() => verify(signed([NEW], {}, "{}", Date.now() + sixMinutes))),
    "timestamp_out_of_tolerance",
  );
  assert.equal((await verify(signed([NEW], {}, "{}", Date.now() - 4 * 60 * 1000))).jobId, "17");
  const lenient = createDeliveryVerifier({ secrets: NEW, toleranceSeconds: 600 });
  assert.equal((await lenient(signed([NEW], {}, "{}", Date.now() - sixMinutes))).jobId, "17");
});

test("rotation: a receiver with the old, the new, or both secrets accepts a delivery signed with both", async () => {
  const both = signed([NEW, OLD]);
  for (const secrets of [[OLD], [NEW], [NEW, OLD], [OLD, NEW]]) {
    assert.equal((await verifyDelivery(both, { secrets })).jobId, "17", secrets.join(" "));
  }
  const onlyNew = signed([NEW]);
  assert.equal((await verifyDelivery(onlyNew, { secrets: [OLD, NEW] })).jobId, "17");
  assert.equal(await refusal(() => verifyDelivery(onlyNew, { secrets: [OLD] })), "bad_signature");
  // One rule for every secret Keel reads (@keel/protocol/webhooks): whsec_ and padded base64.
  assert.throws(() => createDeliveryVerifier({ secrets: NEW.slice("whsec_".length) }), /secret #1/);
});

test("the typed details: ids, attempt, queue, tenant, schedule, fire time, payload", async () => {
  const fire = "2026-03-01T06:00:00.000Z";
  const delivery = await verifyDelivery<{ userId: number }>(
    signed([NEW], {
      "keel-tenant": encodeURIComponent("Zürich AG"),
      "keel-schedule": "nightly-report",
      "keel-fire-time": fire,
    }),
    { secrets: NEW },
  );
  assert.equal(delivery.jobId, "17");
  assert.equal(delivery.attempt, 2);
  assert.equal(delivery.queue, "hooks");
  assert.equal(delivery.tenant, "Zürich AG", "Keel percent-encodes names headers cannot carry");
  assert.equal(delivery.schedule, "nightly-report");
  assert.equal(delivery.fireTime?.toISOString(), fire);
  assert.equal(delivery.payload.userId, 42);
  const plain = await verifyDelivery(signed([NEW], { "keel-tenant": "100%25 ascii" }), { secrets: NEW });
  assert.equal(plain.tenant, "100%25 ascii", "printable ASCII names arrive as they are");
  assert.equal(plain.schedule, null);
  assert.equal(plain.fireTime, null);

  const get = await verifyDelivery(signed([NEW], {}, ""), { secrets: NEW });
  assert.equal(get.payload, undefined, "GET deliveries have no body");
  assert.equal(
    await refusal(() => verifyDelivery(signed([NEW], {}, "not json"), { secrets: NEW })),
    "invalid_payload",
  );
});

test("keel headers must agree with the signed webhook-id and be present", async () => {
  assert.equal(
    await refusal(() => verifyDelivery(signed([NEW], { "keel-job-id": "18" }), { secrets: NEW })),
    "header_mismatch",
  );
  const { "keel-queue": _, ...rest } = signed([NEW]).headers;
  assert.equal(
    await refusal(() => verifyDelivery({ headers: rest, body: '{"userId":42}' }, { secrets: NEW })),
    "not_a_keel_delivery",
  );
});

test("a malformed secret is a configuration error that never echoes the secret", async () => {
  const secret = "whsec_not base64!";
  assert.throws(
    () => createDeliveryVerifier({ secrets: [NEW, secret] }),
    (err: Error) =>
      err instanceof TypeError && /secret #2/.test(err.message) && !err.message.includes(secret),
  );
  assert.throws(() => createDeliveryVerifier({ secrets: [] }), /at least one/);
  // A refusal's message never holds a secret or the expected signature either.
  const err = await verifyDelivery(signed([OLD]), { secrets: NEW }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof DeliveryVerificationError);
  const text = JSON.stringify(err.toJSON());
  assert.ok(!text.includes(NEW.slice(6)) && !text.includes("v1,"), text);
});
