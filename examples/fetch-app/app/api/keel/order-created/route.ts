// POST /api/keel/order-created: Keel's delivery of an order's follow-up work. Only requests
// signed with KEEL_SIGNING_SECRET get through (anything else is answered 401).
import { verifyDeliveryFetch } from "@keel/sdk/next";
import { confirmed, env } from "../../../../lib/keel.js";

const keelDelivery = verifyDeliveryFetch({ secrets: [env("KEEL_SIGNING_SECRET")] });

export const POST = keelDelivery<{ id: string; item: string }>(async (_request, delivery) => {
  // At least once: a retry carries the same job id, so record each order once.
  if (!confirmed.some((c) => c.orderId === delivery.payload.id)) {
    confirmed.push({ orderId: delivery.payload.id, jobId: delivery.jobId, attempt: delivery.attempt });
  }
  return Response.json({ ok: true });
});
