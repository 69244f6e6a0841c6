// Keel's config for the CRM: the app's cron endpoints and its Stripe webhooks. A JS module so the
// app's URL comes from APP_URL; `${VAR}` in headers and secrets is read by Keel at delivery time.
const app = process.env.APP_URL ?? "http://localhost:3000";

export default {
  queues: {
    email: { concurrency: 5, maxAttempts: 8 },
  },
  schedules: {
    // Style 1 (Vercel-like): Authorization: Bearer <CRON_SECRET>.
    "maintenance-alerts": {
      cron: "0 6 * * *",
      timezone: "Europe/London",
      target: {
        url: `${app}/api/cron/maintenance-alerts`,
        method: "GET",
        headers: { Authorization: "Bearer ${CRON_SECRET}" },
      },
    },
    // Style 2: AUTH: <secret> plus X-Company-Id, one job per company (fan-out).
    "auto-chase-overdue-invoices": {
      cron: "0 9 * * 1-5",
      timezone: "Europe/London",
      fanOut: { tenants: ["acme", "globex"] },
      overlap: "skip",
      target: {
        url: `${app}/api/internal/cron/auto-chase-overdue-invoices`,
        headers: { AUTH: "${QT_CRON_SECRET}", "X-Company-Id": "{{tenant}}" },
      },
    },
  },
  sources: {
    stripe: {
      provider: "stripe",
      secrets: ["${STRIPE_WEBHOOK_SECRET}"],
      routes: [
        {
          events: ["invoice.paid", "customer.subscription.*"],
          target: { url: `${app}/api/webhooks/stripe` },
        },
      ],
    },
  },
};
