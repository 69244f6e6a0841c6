import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { isKeelError } from "@keel/engine";
import { Webhook } from "standardwebhooks";
import { parseSigningSecrets, signPayload } from "../src/delivery/signing.js";

const newSecret = () => `whsec_${randomBytes(32).toString("base64")}`;

describe("signPayload", () => {
  test("matches the Standard Webhooks test vector", async () => {
    const signature = await signPayload({
      id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
      timestamp: 1614265330,
      body: '{"test": 2432232314}',
      secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    });
    assert.equal(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });

  test("the standardwebhooks package verifies what we sign", async () => {
    const secret = newSecret();
    const body = JSON.stringify({ order: 42, note: "grüße ✓" });
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      "webhook-id": "msg_42",
      "webhook-timestamp": String(timestamp),
      "webhook-signature": await signPayload({ id: "msg_42", timestamp, body, secrets: [secret] }),
    };
    assert.deepEqual(new Webhook(secret).verify(body, headers), { order: 42, note: "grüße ✓" });
    // Its own signer agrees byte for byte.
    assert.equal(
      headers["webhook-signature"],
      new Webhook(secret).sign("msg_42", new Date(timestamp * 1000), body),
    );
  });

  test("two secrets during rotation: a receiver knowing either one verifies", async () => {
    const [oldSecret, newer] = [newSecret(), newSecret()];
    const body = '{"rotated":true}';
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = await signPayload({ id: "msg_7", timestamp, body, secrets: [newer, oldSecret] });
    assert.equal(signature.split(" ").length, 2);
    assert.match(signature, /^v1,[A-Za-z0-9+/]+=* v1,[A-Za-z0-9+/]+=*$/);
    const headers = {
      "webhook-id": "msg_7",
      "webhook-timestamp": String(timestamp),
      "webhook-signature": signature,
    };
    for (const secret of [oldSecret, newer]) new Webhook(secret).verify(body, headers);
    assert.throws(() => new Webhook(newSecret()).verify(body, headers), /No matching signature/);
  });

  test("a tampered body, id or timestamp fails verification", async () => {
    const secret = newSecret();
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = await signPayload({ id: "msg_1", timestamp, body: '{"a":1}', secrets: [secret] });
    const verify = (id: string, ts: number, body: string) =>
      new Webhook(secret).verify(body, {
        "webhook-id": id,
        "webhook-timestamp": String(ts),
        "webhook-signature": signature,
      });
    verify("msg_1", timestamp, '{"a":1}');
    assert.throws(() => verify("msg_1", timestamp, '{"a":2}'));
    assert.throws(() => verify("msg_2", timestamp, '{"a":1}'));
    assert.throws(() => verify("msg_1", timestamp + 1, '{"a":1}'));
  });
});

describe("parseSigningSecrets", () => {
  test("refuses malformed and short secrets without echoing them", () => {
    const bad = [
      "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      "whsec_not base64!",
      "whsec_c2hvcnQ=",
      "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",
    ];
    assert.throws(
      () => parseSigningSecrets(bad),
      (err: unknown) => {
        assert.ok(isKeelError(err) && err.code === "invalid_config");
        const message = (err as Error).message;
        for (const n of [1, 2, 3, 4]) assert.match(message, new RegExp(`signing secret #${n}`));
        for (const secret of bad) assert.ok(!message.includes(secret.slice(6)), "the secret is not echoed");
        return true;
      },
    );
    assert.throws(() => parseSigningSecrets([]), /at least one signing secret/);
  });

  test("decodes the base64 part as the key", () => {
    const [key] = parseSigningSecrets(["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]);
    assert.deepEqual(
      Buffer.from(key?.bytes ?? []),
      Buffer.from("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "base64"),
    );
  });
});
