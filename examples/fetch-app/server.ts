// A tiny Node adapter for Fetch-API route handlers, the shape Next.js App Router routes have:
// each route module exports functions named after HTTP methods, (Request) => Response.
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from "node:http";
import * as cleanup from "./app/api/cron/cleanup/route.js";
import * as orderCreated from "./app/api/keel/order-created/route.js";
import * as orders from "./app/api/orders/route.js";
import { closeKeel } from "./lib/keel.js";

type RouteModule = Partial<Record<string, (request: Request) => Promise<Response> | Response>>;

const ROUTES: Record<string, RouteModule> = {
  "/api/orders": orders,
  "/api/keel/order-created": orderCreated,
  "/api/cron/cleanup": cleanup,
};

/** The request listener: finds the route module and method, runs it, writes its Response. */
export const handle: RequestListener = async (req, res) => {
  try {
    const url = new URL(req.url ?? "/", `http://${req.headers.host ?? "localhost"}`);
    const handler = ROUTES[url.pathname]?.[req.method ?? "GET"];
    if (!handler) return void res.writeHead(ROUTES[url.pathname] ? 405 : 404).end();
    await send(res, await handler(await toRequest(req, url)));
  } catch (err) {
    console.error(err);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  }
};

async function toRequest(req: IncomingMessage, url: URL): Promise<Request> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = req.method === "GET" || req.method === "HEAD" ? undefined : Buffer.concat(chunks);
  return new Request(url, { method: req.method, headers, body });
}

async function send(res: ServerResponse, response: Response): Promise<void> {
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(Buffer.from(await response.arrayBuffer()));
}

// `npm start`: serve on PORT (default 3000) until SIGTERM.
if (import.meta.url === `file://${process.argv[1]}`) {
  const server = createServer(handle).listen(Number(process.env.PORT ?? 3000));
  process.once("SIGTERM", () => server.close(() => void closeKeel()));
}
