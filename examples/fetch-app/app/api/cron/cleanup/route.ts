// GET /api/cron/cleanup: a cron route as Vercel calls it, with Authorization: Bearer <CRON_SECRET>.
// Moved to Keel with `keel import vercel.json`, it is called the same way and does not change.
import { cleanups, env } from "../../../../lib/keel.js";

export function GET(request: Request): Response {
  if (request.headers.get("authorization") !== `Bearer ${env("CRON_SECRET")}`) {
    return Response.json({ error: "unauthorized" }, { status: 401 });
  }
  cleanups.push({ fireTime: request.headers.get("keel-fire-time") });
  return Response.json({ ok: true });
}
