import { EventEmitter } from "node:events";
import type { KeelClient } from "@keel/sdk/client";
import { deliveryOf, verifyDeliveryExpress } from "@keel/sdk/express";
import express, { type NextFunction, type Request, type Response } from "express";

export interface CrmOptions {
  /** Checked on /api/cron/* as `Authorization: Bearer <cronSecret>`. */
  cronSecret: string;
  /** Checked on /api/internal/cron/* as `AUTH: <internalCronSecret>`. */
  internalCronSecret: string;
  /** Keel's KEEL_SIGNING_SECRET: Stripe events forwarded by Keel are verified with it. */
  signingSecret: string;
  /** Where the app enqueues jobs (a token with the publish scope). */
  keel: KeelClient;
}

/** What the CRM did, for logs (and the example's test). */
export type CrmEvent =
  | { kind: "maintenance-alerts"; fireTime: string | undefined }
  | { kind: "auto-chase"; company: string; enqueued: string[] }
  | { kind: "stripe"; type: string; eventId: string; jobId: string };

const OVERDUE: Record<string, string[]> = { acme: ["INV-1", "INV-2"], globex: ["INV-7"] };

/**
 * The CRM's HTTP app: two cron endpoints with the two auth styles seed apps grow, and the Stripe
 * webhook route Keel forwards verified events to.
 *
 * @example
 * const { app } = createCrm({ cronSecret, internalCronSecret, signingSecret, keel: new KeelClient({ baseUrl, token }) });
 * app.listen(3000);
 */
export function createCrm(options: CrmOptions): { app: express.Express; events: EventEmitter } {
  const events = new EventEmitter();
  const emit = (event: CrmEvent) => events.emit("event", event);
  const app = express();

  const bearer = (req: Request, res: Response, next: NextFunction) =>
    req.get("authorization") === `Bearer ${options.cronSecret}`
      ? next()
      : res.status(401).json({ error: "unauthorized" });
  const internal = (req: Request, res: Response, next: NextFunction) =>
    req.get("auth") === options.internalCronSecret ? next() : res.status(401).json({ error: "unauthorized" });

  app.get("/api/cron/maintenance-alerts", bearer, (req, res) => {
    emit({ kind: "maintenance-alerts", fireTime: req.get("keel-fire-time") });
    res.json({ ok: true });
  });

  // One request per company (Keel fans out); the work itself goes to the email queue.
  app.post("/api/internal/cron/auto-chase-overdue-invoices", internal, async (req, res) => {
    const company = req.get("x-company-id");
    if (!company) return void res.status(400).json({ error: "X-Company-Id is required" });
    const jobs = await options.keel.jobs.createMany(
      (OVERDUE[company] ?? []).map((invoice) => ({
        queue: "email",
        target: { handler: "sendInvoiceReminder" },
        payload: { company, invoice },
        tenant: company,
        // One reminder per invoice per slot, however often Keel retries this request.
        dedupeKey: `chase:${company}:${invoice}:${req.get("keel-fire-time")}`,
      })),
    );
    emit({ kind: "auto-chase", company, enqueued: jobs.map((j) => j.id) });
    res.json({ enqueued: jobs.length });
  });

  // Keel verified Stripe's signature at /in/stripe; here the app checks Keel's.
  app.post(
    "/api/webhooks/stripe",
    verifyDeliveryExpress({ secrets: [options.signingSecret] }),
    (req, res) => {
      const delivery = deliveryOf<{ id: string; type: string }>(req);
      emit({
        kind: "stripe",
        type: delivery.payload.type,
        eventId: delivery.payload.id,
        jobId: delivery.jobId,
      });
      res.sendStatus(204);
    },
  );

  return { app, events };
}
