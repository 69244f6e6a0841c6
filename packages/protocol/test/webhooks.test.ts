import assert from "node:assert/strict";
import { test } from "node:test";
import { parseStandardSecret, signStandard, standardSecretProblem, verifyStandard } from "../src/webhooks.js";

// ANCHORS.md, "Standard Webhooks".
const VECTOR = {
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  content: { id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1614265330, body: '{"test": 2432232314}' },
  signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};
const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

test("signs the Standard Webhooks vector and verifies it, with Web Crypto", async () => {
  const key = parseStandardSecret(VECTOR.secret);
  assert.equal(await signStandard(VECTOR.content, [key]), VECTOR.signature);
  assert.equal(await verifyStandard(VECTOR.content, VECTOR.signature, [key]), 1);
  const bytes = new TextEncoder().encode(VECTOR.content.body);
  assert.equal(await verifyStandard({ ...VECTOR.content, body: bytes }, VECTOR.signature, [key]), 1);
  assert.equal(await verifyStandard({ ...VECTOR.content, body: "{}" }, VECTOR.signature, [key]), 0);
});

test("rotation: the position of the key that matched, among several signatures", async () => {
  const other = parseStandardSecret(`whsec_${btoa("another-secret-of-24-byte")}`);
  const key = parseStandardSecret(VECTOR.secret);
  assert.equal(await verifyStandard(VECTOR.content, `v1,AAAA ${VECTOR.signature}`, [other, key]), 2);
  assert.equal(await verifyStandard(VECTOR.content, VECTOR.signature, [other]), 0);
});

test("a signature whose last base64 character differs only in ignored bits is refused", async () => {
  // Decoders drop the low bits of the last character: `…OE=` and `…OF=` decode alike.
  const key = parseStandardSecret(VECTOR.secret);
  const digits = VECTOR.signature.slice(3, -1);
  const last = digits.at(-1) as string;
  const twin = BASE64[BASE64.indexOf(last) ^ 1] as string;
  const malleated = `v1,${digits.slice(0, -1)}${twin}=`;
  assert.notEqual(malleated, VECTOR.signature);
  assert.deepEqual(
    Uint8Array.from(atob(malleated.slice(3)), (c) => c.charCodeAt(0)),
    Uint8Array.from(atob(VECTOR.signature.slice(3)), (c) => c.charCodeAt(0)),
    "the two decode to the same digest",
  );
  assert.equal(await verifyStandard(VECTOR.content, malleated, [key]), 0);
});

test("one secret rule: whsec_, padded base64, at least 16 bytes; the secret is never repeated", () => {
  assert.equal(standardSecretProblem(VECTOR.secret), null);
  for (const bad of [
    "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "whsec_not base64!",
    "whsec_c2hvcnQ=",
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",
  ]) {
    const problem = standardSecretProblem(bad);
    assert.ok(problem, bad);
    assert.ok(!problem.includes(bad.slice(6)), "the secret is not echoed");
    assert.throws(() => parseStandardSecret(bad), TypeError);
  }
});
