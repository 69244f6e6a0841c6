// Runs the CRM and its worker: `npm start` in examples/express-crm (see README.md).
import { KeelClient } from "@keel/sdk/client";
import { createCrm } from "./app.js";
import { startCrmWorker } from "./worker.js";

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required (see examples/express-crm/README.md)`);
  return value;
};

const { app, events } = createCrm({
  cronSecret: env("CRON_SECRET"),
  internalCronSecret: env("QT_CRON_SECRET"),
  signingSecret: env("KEEL_SIGNING_SECRET"),
  keel: new KeelClient({
    baseUrl: process.env.KEEL_URL ?? "http://localhost:7070",
    token: env("KEEL_TOKEN"),
  }),
});
events.on("event", (event) => console.log(JSON.stringify(event)));
const worker = startCrmWorker({
  connectionString: env("DATABASE_URL"),
  schema: process.env.KEEL_SCHEMA,
  send: (r) => console.log(`reminder for ${r.company}: ${r.invoice}`),
});
await worker.start();
const server = app.listen(Number(process.env.PORT ?? 3000));
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, async () => {
    server.close();
    await worker.stop();
  });
}
