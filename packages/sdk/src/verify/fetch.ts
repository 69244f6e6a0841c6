import { DeliveryVerificationError } from "./errors.js";
import {
  createDeliveryVerifier,
  type DeliveryVerifier,
  type KeelDelivery,
  type VerifyOptions,
} from "./verify.js";

/**
 * Verifies a Fetch `Request` (Next.js route handlers, Hono's `c.req.raw`, Remix actions). Reads
 * a clone, so the request's own body stays readable; the parsed body is `delivery.payload`.
 *
 * @example
 * export async function POST(request: Request) {
 *   const delivery = await verifyRequest<{ userId: number }>(request, { secrets: [process.env.KEEL_SIGNING_SECRET!] });
 *   await sendWelcome(delivery.payload.userId);
 *   return new Response(null, { status: 204 });
 * }
 */
export async function verifyRequest<P = unknown>(
  request: Request,
  options: VerifyOptions | DeliveryVerifier,
): Promise<KeelDelivery<P>> {
  const verify = typeof options === "function" ? options : createDeliveryVerifier(options);
  if (request.bodyUsed) {
    throw new TypeError("verifyRequest: the request body was already read; verify before reading it");
  }
  const body = new Uint8Array(await request.clone().arrayBuffer());
  return verify<P>({ headers: request.headers, body });
}

/** The 401 answer for a refused delivery (Keel records it and retries the job). */
export function refusalResponse(err: DeliveryVerificationError): Response {
  return Response.json(err.toJSON(), { status: 401 });
}

/** A Fetch handler that receives the verified delivery after the request. */
export type DeliveryHandler<P, A extends unknown[]> = (
  request: Request,
  delivery: KeelDelivery<P>,
  ...rest: A
) => Response | Promise<Response>;

/**
 * Wraps a Fetch handler: it runs only for verified deliveries and receives the delivery; anything
 * else gets 401 with the reason.
 *
 * @example
 * // app/api/keel/route.ts (Next.js)
 * const keelDelivery = verifyDeliveryFetch({ secrets: [process.env.KEEL_SIGNING_SECRET!] });
 * export const POST = keelDelivery<{ userId: number }>(async (request, delivery) => {
 *   await sendWelcome(delivery.payload.userId);
 *   return Response.json({ ok: true });
 * });
 */
export function verifyDeliveryFetch(
  options: VerifyOptions,
): <P = unknown, A extends unknown[] = []>(
  handler: DeliveryHandler<P, A>,
) => (request: Request, ...rest: A) => Promise<Response> {
  const verify = createDeliveryVerifier(options);
  return <P, A extends unknown[]>(handler: DeliveryHandler<P, A>) =>
    async (request: Request, ...rest: A) => {
      let delivery: KeelDelivery<P>;
      try {
        delivery = await verifyRequest<P>(request, verify);
      } catch (err) {
        if (err instanceof DeliveryVerificationError) return refusalResponse(err);
        throw err;
      }
      return handler(request, delivery, ...rest);
    };
}
