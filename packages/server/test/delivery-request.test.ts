import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { after, describe, test } from "node:test";
import { NonRetryableError, RetryAfterError } from "@keel/engine";
import { Webhook } from "standardwebhooks";
import { deferred } from "../../engine/test/helpers.js";
import { parseAllowlist } from "../src/delivery/allowlist.js";
import { createDeliveryAgent } from "../src/delivery/connector.js";
import { deliveryStatusClass } from "../src/delivery/deliver.js";
import { DeliveryError, DeliveryRefusedError, DeliveryRetryAfterError } from "../src/delivery/errors.js";
import {
  type DeliveryAttempt,
  RESPONSE_BODY_LIMIT,
  type SendOptions,
  sendDelivery,
} from "../src/delivery/request.js";
import { MAX_RETRY_AFTER_SECONDS, parseRetryAfter } from "../src/delivery/retry-after.js";
import { parseSigningSecrets } from "../src/delivery/signing.js";
import { attemptTo, every, newSecret, type Respond, startEndpoint } from "./fixtures/delivery-servers.js";

// Hostile endpoints live on loopback: development mode allows it.
const agent = createDeliveryAgent({ production: false, allowlist: parseAllowlist("") });
after(() => agent.close());
const secret = newSecret();
const base: SendOptions = { dispatcher: agent, signingKeys: parseSigningSecrets([secret]), timeoutMs: 1_000 };

/** An endpoint answering with `respond`, closed when the file ends. */
async function endpoint(respond: Respond) {
  const e = await startEndpoint(respond);
  after(() => e.close());
  return e;
}

function send(attempt: DeliveryAttempt, options: Partial<SendOptions> = {}) {
  return sendDelivery(attempt, { ...base, ...options });
}

describe("the request", () => {
  test("is a signed POST with Standard Webhooks and keel headers", async () => {
    const e = await endpoint((_req, res) => res.end("thanks"));
    const result = await send({
      ...attemptTo(`${e.origin}/hook?x=1`, { order: 7 }),
      tenant: "acme",
      attempt: 3,
    });
    assert.deepEqual(
      { ok: result.ok, status: result.status, body: result.body },
      { ok: true, status: 200, body: "thanks" },
    );
    assert.ok(result.latencyMs >= 0 && result.latencyMs < 1_000);
    const [req] = e.received;
    assert.ok(req);
    assert.equal(req.method, "POST");
    assert.equal(req.url, "/hook?x=1");
    assert.equal(req.body, '{"order":7}');
    assert.equal(req.headers["content-type"], "application/json");
    assert.equal(req.headers["webhook-id"], "msg_12345");
    assert.equal(req.headers["keel-job-id"], "12345");
    assert.equal(req.headers["keel-attempt"], "3");
    assert.equal(req.headers["keel-queue"], "hooks");
    assert.equal(req.headers["keel-tenant"], "acme");
    const timestamp = Number(req.headers["webhook-timestamp"]);
    assert.ok(Math.abs(timestamp - Date.now() / 1000) < 5);
    assert.deepEqual(new Webhook(secret).verify(req.body, req.headers as Record<string, string>), {
      order: 7,
    });
  });

  test("GET sends no body and signs the empty body; no keel-tenant without a tenant", async () => {
    const e = await endpoint((_req, res) => res.end());
    const result = await send(attemptTo({ url: `${e.origin}/poll`, method: "GET" }));
    assert.equal(result.ok, true);
    const [req] = e.received;
    assert.ok(req);
    assert.equal(req.method, "GET");
    assert.equal(req.body, "");
    assert.equal(req.headers["content-type"], undefined);
    assert.equal(req.headers["keel-tenant"], undefined);
    new Webhook(secret).verify("", req.headers as Record<string, string>);
  });

  test("target headers: ${VAR} read from the environment at delivery time", async () => {
    const e = await endpoint((_req, res) => res.end());
    const target = {
      url: e.origin,
      headers: {
        authorization: "Bearer ${HOOK_TOKEN}",
        AUTH: "${HOOK_TOKEN}-${HOOK_COMPANY}",
        "User-Agent": "mine",
      },
    };
    const env = { HOOK_TOKEN: "first", HOOK_COMPANY: "c1" };
    const variables = { env, allow: ["HOOK_*"] };
    await send(attemptTo(target), { variables });
    env.HOOK_TOKEN = "rotated";
    await send(attemptTo(target), { variables });
    assert.deepEqual(
      e.received.map((r) => [r.headers.authorization, r.headers.auth, r.headers["user-agent"]]),
      [
        ["Bearer first", "first-c1", "mine"],
        ["Bearer rotated", "rotated-c1", "mine"],
      ],
    );
  });

  test("a missing variable fails the attempt, naming it, and sends nothing", async () => {
    const e = await endpoint((_req, res) => res.end());
    for (const env of [{}, { HOOK_TOKEN: "" }]) {
      const target = { url: e.origin, headers: { authorization: "Bearer ${HOOK_TOKEN}" } };
      const result = await send(attemptTo(target), { variables: { env, allow: ["HOOK_TOKEN"] } });
      assert.ok(result.error instanceof DeliveryError && !(result.error instanceof NonRetryableError));
      assert.equal(result.error.code, "delivery_variable_missing");
      assert.match(result.error.message, /header 'authorization' uses \$\{HOOK_TOKEN\}, which is not set/);
    }
    assert.equal(e.connections, 0);
  });

  test("only allowed variables are read: none by default, Keel's own never, the config's for config jobs", async () => {
    const e = await endpoint((_req, res) => res.end());
    const env = {
      DATABASE_URL: "postgres://u:secret@db/app",
      KEEL_SIGNING_SECRET: "whsec_x",
      HOOK_A: "a",
      CRON_SECRET: "c",
      OTHER: "o",
    };
    const refused = async (name: string, variables: SendOptions["variables"], config = false) => {
      const result = await send(
        {
          ...attemptTo({ url: e.origin, headers: { x: `\${${name}}` } }),
          origin: config ? { config } : null,
        },
        { variables },
      );
      assert.ok(result.error instanceof DeliveryRefusedError, name);
      assert.equal(result.error.code, "delivery_variable_refused");
      assert.ok(!result.error.message.includes("secret"), "no value in the message");
      return result.error.message;
    };
    // Nothing is readable unless the operator says so.
    assert.match(await refused("OTHER", { env }), /add it to KEEL_TARGET_VARIABLES/);
    // Keel's own, whatever the lists say.
    const everything = { env, allow: ["*"], config: ["DATABASE_URL", "KEEL_SIGNING_SECRET"] };
    for (const name of ["DATABASE_URL", "KEEL_SIGNING_SECRET"]) {
      assert.match(await refused(name, everything, true), /Keel's own configuration/);
    }
    const variables = { env, allow: ["HOOK_*"], config: ["CRON_SECRET"] };
    const ok = async (name: string, config = false) =>
      (
        await send(
          {
            ...attemptTo({ url: e.origin, headers: { x: `\${${name}}` } }),
            origin: config ? { config } : null,
          },
          { variables },
        )
      ).ok;
    assert.equal(await ok("HOOK_A"), true);
    assert.equal(await ok("HOOK_A", true), true);
    // What the config file names: only for the jobs made from it.
    assert.equal(await ok("CRON_SECRET", true), true);
    await refused("CRON_SECRET", variables);
    await refused("OTHER", variables, true);
    assert.equal(e.received.length, 3, "only the allowed deliveries were sent");
  });

  test("a resolved value with a line break is refused without echoing it", async () => {
    const e = await endpoint((_req, res) => res.end());
    const env = { HOOK_TOKEN: "abc\r\nx-injected: 1" };
    const result = await send(attemptTo({ url: e.origin, headers: { authorization: "${HOOK_TOKEN}" } }), {
      variables: { env, allow: ["HOOK_TOKEN"] },
    });
    assert.equal(result.error?.code, "delivery_invalid_target");
    assert.ok(!result.error?.message.includes("abc"));
    assert.equal(e.connections, 0);
  });

  test("targets cannot replace Keel's headers or carry credentials in the URL", async () => {
    const e = await endpoint((_req, res) => res.end());
    for (const name of ["webhook-signature", "Keel-Job-Id", "content-type", "host"]) {
      const result = await send(attemptTo({ url: e.origin, headers: { [name]: "x" } }));
      assert.ok(result.error instanceof DeliveryRefusedError, name);
      assert.equal(result.error.code, "delivery_invalid_target");
    }
    const creds = await send(attemptTo(`http://user:pw@127.0.0.1:${e.port}/`));
    assert.equal(creds.error?.code, "delivery_invalid_target");
    const ftp = await send(attemptTo("ftp://127.0.0.1/"));
    assert.equal(ftp.error?.code, "delivery_invalid_target");
    assert.equal(e.connections, 0);
  });

  test("keeps connections alive between deliveries", async () => {
    const e = await endpoint((_req, res) => res.end("ok"));
    for (let i = 0; i < 6; i++) assert.equal((await send(attemptTo(e.origin))).ok, true);
    // undici may open a second socket while the first is not yet marked idle; never one each.
    assert.ok(e.connections <= 2, `${e.connections} connections for 6 deliveries`);
  });
});

describe("hostile endpoints", () => {
  test("slow drip: cut by the timeout, with what arrived so far", async () => {
    const e = await endpoint((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      every(res, 50, () => res.write("."));
    });
    const result = await send(attemptTo(e.origin));
    assert.equal(result.ok, false);
    assert.equal(result.error?.code, "delivery_timeout");
    assert.match(result.error?.message ?? "", /within 1000 ms \(status 200 received, body still arriving\)/);
    assert.equal(result.status, 200);
    assert.match(result.body ?? "", /^\.+$/);
    assert.ok(result.latencyMs >= 990 && result.latencyMs < 3_000, `latency ${result.latencyMs}`);
    assert.equal(deliveryStatusClass(result), "timeout", "counted as a timeout, not as 2xx");
  });

  test("never answering: cut by the timeout", async () => {
    const e = await endpoint(() => {});
    const result = await send(attemptTo(e.origin));
    assert.equal(result.error?.code, "delivery_timeout");
    assert.equal(result.status, undefined);
    assert.equal(result.body, undefined);
  });

  test("never closing: headers and a little body, then silence", async () => {
    const e = await endpoint((_req, res) => {
      res.writeHead(200, { "content-length": "1000" });
      res.write("partial");
    });
    const result = await send(attemptTo(e.origin));
    assert.equal(result.error?.code, "delivery_timeout");
    assert.equal(result.body, "partial");
  });

  test("a 10 MB body: only the first 16 KiB are read and recorded", async () => {
    const big = Buffer.alloc(10 * 1024 * 1024, "x");
    const closed = deferred();
    const e = await endpoint((_req, res) => {
      res.on("close", () => closed.resolve());
      res.end(big);
    });
    const result = await send(attemptTo(e.origin), { timeoutMs: 5_000 });
    assert.equal(result.ok, true);
    assert.equal(result.body?.length, RESPONSE_BODY_LIMIT);
    await closed.promise;
  });

  test("an endless body: read stops at 16 KiB, the connection is dropped, memory stays flat", async () => {
    const chunk = Buffer.alloc(64 * 1024, "y");
    let written = 0;
    const closed = deferred();
    const e = await endpoint((_req, res: ServerResponse) => {
      res.writeHead(200);
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) written += chunk.length;
      };
      res.on("drain", pump);
      res.on("close", () => closed.resolve());
      pump();
    });
    const before = process.memoryUsage();
    const result = await send(attemptTo(e.origin), { timeoutMs: 5_000 });
    await closed.promise;
    const grown = process.memoryUsage().arrayBuffers - before.arrayBuffers;
    assert.equal(result.ok, true, result.error?.message);
    assert.equal(result.body?.length, RESPONSE_BODY_LIMIT);
    assert.ok(result.latencyMs < 2_000, "finished long before the timeout");
    assert.ok(grown < 32 * 1024 * 1024, `array buffers grew by ${grown} bytes`);
    assert.ok(written < 64 * 1024 * 1024, `the endpoint wrote ${written} bytes before we hung up`);
  });

  test("binary bodies are kept as text without NUL (Postgres text cannot hold it)", async () => {
    const e = await endpoint((_req, res) => res.end(Buffer.from([0x61, 0x00, 0x62, 0xff])));
    const result = await send(attemptTo(e.origin));
    assert.equal(result.body, "a\uFFFDb\uFFFD");
  });

  test("redirects are failures and are not followed", async () => {
    const e = await endpoint((req, res) => {
      if (req.url === "/elsewhere") res.end("should not be reached");
      else res.writeHead(302, { location: "/elsewhere" }).end("moved");
    });
    const result = await send(attemptTo(`${e.origin}/start`));
    assert.equal(result.ok, false);
    assert.equal(result.status, 302);
    assert.equal(result.body, "moved");
    assert.ok(result.error instanceof DeliveryError && !(result.error instanceof NonRetryableError));
    assert.equal(result.error.code, "delivery_redirect");
    assert.match(result.error.message, /302 \(to \/elsewhere\); redirects are not followed/);
    assert.deepEqual(
      e.received.map((r) => r.url),
      ["/start"],
    );
  });
});

describe("outcomes", () => {
  async function answer(status: number, headers: Record<string, string> = {}) {
    const e = await endpoint((_req, res) => res.writeHead(status, headers).end(`status ${status}`));
    return send(attemptTo(e.origin));
  }

  test("2xx is success", async () => {
    for (const status of [200, 201, 202, 204]) assert.equal((await answer(status)).ok, true, String(status));
  });

  test("410 Gone: not retried", async () => {
    const result = await answer(410);
    assert.ok(result.error instanceof NonRetryableError);
    assert.equal(result.error.code, "delivery_gone");
    assert.equal(result.body, "status 410");
  });

  test("429 and 503 with Retry-After: retried after that many seconds", async () => {
    const seconds = await answer(429, { "retry-after": "120" });
    assert.ok(seconds.error instanceof DeliveryRetryAfterError && seconds.error instanceof RetryAfterError);
    assert.equal(seconds.error.seconds, 120);
    const date = new Date(Date.now() + 90_000).toUTCString();
    const dated = await answer(503, { "retry-after": date });
    assert.ok(dated.error instanceof RetryAfterError);
    assert.ok(dated.error.seconds >= 88 && dated.error.seconds <= 91, String(dated.error.seconds));
  });

  test("other statuses, and 503 without Retry-After, use the job's backoff", async () => {
    for (const [status, headers] of [
      [500, {}],
      [503, {}],
      [404, {}],
      [429, { "retry-after": "soon" }],
    ] as const) {
      const result = await answer(status, headers);
      assert.ok(result.error instanceof DeliveryError, String(status));
      assert.equal(result.error.code, "delivery_status");
      assert.equal(result.status, status);
    }
  });

  test("connection refused is a network error", async () => {
    const e = await startEndpoint(() => {});
    const url = e.origin;
    await e.close();
    const result = await send(attemptTo(url));
    assert.equal(result.error?.code, "delivery_network");
    assert.match(result.error?.message ?? "", /ECONNREFUSED/);
    assert.equal(deliveryStatusClass(result), "network");
  });

  test("the job's signal abandons the attempt: its reason is thrown, nothing is classified", async () => {
    const started = deferred();
    const e = await endpoint(() => started.resolve());
    const controller = new AbortController();
    const pending = send(attemptTo(e.origin), { signal: controller.signal, timeoutMs: 10_000 });
    await started.promise;
    const reason = new Error("lease lost");
    controller.abort(reason);
    await assert.rejects(pending, (err) => err === reason);
  });
});

describe("parseRetryAfter", () => {
  test("seconds, HTTP-dates, caps and garbage", () => {
    const now = Date.parse("2015-10-21T07:27:00Z");
    assert.equal(parseRetryAfter("120", now), 120);
    assert.equal(parseRetryAfter(" 0 ", now), 0);
    assert.equal(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now), 60);
    assert.equal(parseRetryAfter("Wed, 21 Oct 2015 07:00:00 GMT", now), 0, "a past date means now");
    assert.equal(parseRetryAfter("999999999", now), MAX_RETRY_AFTER_SECONDS);
    assert.equal(parseRetryAfter("Sat, 21 Oct 2017 07:28:00 GMT", now), MAX_RETRY_AFTER_SECONDS);
    for (const bad of [undefined, "", "-5", "1.5", "soon", "2015-10-21"])
      assert.equal(parseRetryAfter(bad, now), undefined);
    assert.equal(parseRetryAfter(["30", "60"], now), 30);
  });
});
