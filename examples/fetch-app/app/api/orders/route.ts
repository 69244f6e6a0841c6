// POST /api/orders: at most 3 orders a minute per user (rate limit in Keel's Postgres), safe to
// retry with an Idempotency-Key (the second request gets the first answer, the order is made
// once), and the follow-up work handed to Keel as a signed delivery to /api/keel/order-created.
import { randomUUID } from "node:crypto";
import { idempotencyFetch, keyByUser, rateLimitFetch } from "@keel/sdk/next";
import { env, idempotencyStore, keel, limiter } from "../../../lib/keel.js";

const limited = rateLimitFetch({
  limiter,
  limits: (request) => ({
    policy: "orders",
    key: keyByUser(request.headers.get("x-user-id") ?? "anonymous"),
  }),
});
const idempotent = idempotencyFetch({ store: idempotencyStore });

export const POST = limited(
  idempotent(async (request: Request) => {
    const { item } = (await request.json()) as { item: string };
    const order = { id: randomUUID(), item };
    const job = await keel.jobs.create({
      queue: "orders",
      target: { url: `${env("APP_URL")}/api/keel/order-created`, method: "POST" },
      payload: order,
    });
    return Response.json({ order, jobId: job.id }, { status: 201 });
  }),
);
