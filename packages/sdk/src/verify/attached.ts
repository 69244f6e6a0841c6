import type { KeelDelivery } from "./verify.js";

const deliveries = new WeakMap<object, KeelDelivery>();

/** Attaches a verified delivery to a framework's request object. */
export function attachDelivery(request: object, delivery: KeelDelivery): void {
  deliveries.set(request, delivery);
}

/**
 * The verified delivery of an Express or Fastify request that passed the Keel verification
 * middleware; throws when the request did not pass through it (a routing mistake).
 *
 * @example
 * app.post("/hooks/keel", verifyDeliveryExpress({ secrets }), (req, res) => {
 *   const { jobId, attempt, payload } = deliveryOf<{ userId: number }>(req);
 * });
 */
export function deliveryOf<P = unknown>(request: object): KeelDelivery<P> {
  const delivery = deliveries.get(request);
  if (!delivery) {
    throw new TypeError("deliveryOf: this request did not pass through Keel's delivery verification");
  }
  return delivery as KeelDelivery<P>;
}
