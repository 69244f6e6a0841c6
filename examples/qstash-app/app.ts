import type { IncomingMessage, RequestListener } from "node:http";
import { Client, Receiver } from "@upstash/qstash";

/**
 * An app as it was written for Upstash QStash: it publishes a welcome email job when a user signs
 * up, and its job endpoint checks QStash's signature with `Receiver`. Nothing here knows about
 * Keel: moving it is setting QSTASH_URL to Keel's address and QSTASH_TOKEN to a Keel token (and
 * the signing keys to the ones Keel signs with, KEEL_QSTASH_CURRENT/NEXT_SIGNING_KEY).
 */
export interface AppEnv {
  QSTASH_URL: string;
  QSTASH_TOKEN: string;
  QSTASH_CURRENT_SIGNING_KEY: string;
  QSTASH_NEXT_SIGNING_KEY: string;
  /** Where QStash (here Keel) reaches this app. */
  APP_URL: string;
}

export interface App {
  handler: RequestListener;
  /** The welcome emails sent, by user id (a real app would call its mail provider). */
  sent: string[];
}

export function createApp(env: AppEnv): App {
  const qstash = new Client({ baseUrl: env.QSTASH_URL, token: env.QSTASH_TOKEN });
  const receiver = new Receiver({
    currentSigningKey: env.QSTASH_CURRENT_SIGNING_KEY,
    nextSigningKey: env.QSTASH_NEXT_SIGNING_KEY,
  });
  const sent: string[] = [];

  const handler: RequestListener = async (req, res) => {
    try {
      const body = await text(req);
      if (req.method === "POST" && req.url === "/signup") {
        const { userId } = JSON.parse(body) as { userId: string };
        const { messageId } = await qstash.publishJSON({
          url: `${env.APP_URL}/api/jobs/welcome`,
          body: { userId },
          retries: 3,
        });
        res.writeHead(202, { "content-type": "application/json" }).end(JSON.stringify({ messageId }));
        return;
      }
      if (req.method === "POST" && req.url === "/api/jobs/welcome") {
        const signature = req.headers["upstash-signature"];
        const valid =
          typeof signature === "string" &&
          (await receiver
            .verify({ signature, body, url: `${env.APP_URL}/api/jobs/welcome` })
            .catch(() => false));
        if (!valid) {
          res.writeHead(401).end("invalid signature");
          return;
        }
        sent.push((JSON.parse(body) as { userId: string }).userId);
        res.writeHead(200).end("sent");
        return;
      }
      res.writeHead(404).end();
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  };
  return { handler, sent };
}

async function text(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
