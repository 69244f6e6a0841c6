import { fillPath, OPERATIONS, type OperationId } from "./operations.js";
import type { RequestSpec } from "./transport.js";

/** Sends one operation of the table; what every resource method is made of. */
export type Call = <T>(
  operation: OperationId,
  parts?: {
    params?: Record<string, string>;
    query?: RequestSpec["query"];
    body?: unknown;
    idempotencyKey?: string;
    signal?: AbortSignal;
  },
) => Promise<T>;

/** Builds `Call` on a request function. */
export function caller(send: <T>(spec: RequestSpec) => Promise<T>): Call {
  return (operation, parts = {}) => {
    const op = OPERATIONS[operation];
    return send({
      method: op.method,
      path: fillPath(op.path, parts.params),
      retry: op.retry,
      query: parts.query,
      body: parts.body,
      idempotencyKey: parts.idempotencyKey,
      signal: parts.signal,
    });
  };
}

/** Walks cursor pages until the last. */
export async function* pages<T, P extends { nextCursor: string | null }>(
  fetchPage: (cursor: string | undefined) => Promise<P>,
  items: (page: P) => T[],
): AsyncGenerator<T> {
  let cursor: string | undefined;
  do {
    const page = await fetchPage(cursor);
    yield* items(page);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
}
