import { createWorker, defineHandlers, type Worker } from "@keel/sdk/worker";

export type Payloads = { sendInvoiceReminder: { company: string; invoice: string } };

/**
 * The CRM's pull worker: claims `email` jobs from Keel's Postgres and runs them here, in the
 * app's code (no HTTP round trip).
 *
 * @example
 * const worker = startCrmWorker({ connectionString: process.env.DATABASE_URL!, send: mailer.send });
 * await worker.start();
 */
export function startCrmWorker(options: {
  connectionString: string;
  schema?: string;
  send: (reminder: Payloads["sendInvoiceReminder"]) => Promise<void> | void;
}): Worker {
  const handlers = defineHandlers<Payloads>({
    sendInvoiceReminder: async (job) => {
      await options.send(job.payload);
    },
  });
  return createWorker({
    connectionString: options.connectionString,
    schema: options.schema,
    queues: ["email"],
    handlers,
  });
}
