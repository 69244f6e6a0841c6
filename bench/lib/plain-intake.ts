/**
 * The intake baseline: the handler a team writes by hand — Fastify, a pg pool, one single-row
 * INSERT of the raw body per request, 200 after the commit. No verification, no dedupe, no
 * routing. Runs in its own process (like `keel start`) when started with `--serve`.
 *
 *   const plain = await startPlainIntake(databaseUrl, schema, poolSize); // creates <schema>.events
 *   … POST http://127.0.0.1:<plain.port>/in/bench …
 *   await plain.stop();
 */
import { fileURLToPath } from "node:url";
import Fastify from "fastify";
import pg from "pg";
import { listenAndReport, type PlainServer, startPlainServer } from "./plain-server.js";

const SELF = fileURLToPath(import.meta.url);

export type PlainIntake = PlainServer;

export function startPlainIntake(
  databaseUrl: string,
  schema: string,
  poolSize: number,
): Promise<PlainIntake> {
  return startPlainServer(SELF, "plain intake", {
    BENCH_PLAIN_URL: databaseUrl,
    BENCH_PLAIN_SCHEMA: schema,
    BENCH_PLAIN_POOL: String(poolSize),
  });
}

async function serve(): Promise<void> {
  const schema = process.env.BENCH_PLAIN_SCHEMA as string;
  const pool = new pg.Pool({
    connectionString: process.env.BENCH_PLAIN_URL,
    max: Number(process.env.BENCH_PLAIN_POOL ?? 10),
  });
  await pool.query(`create schema if not exists "${schema}"`);
  await pool.query(
    `create table if not exists "${schema}".events (id bigserial primary key, received_at timestamptz not null default now(), body bytea not null)`,
  );
  const app = Fastify({ logger: false });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
  const insert = `insert into "${schema}".events (body) values ($1) returning id`;
  app.post("/in/:source", async (request, reply) => {
    const { rows } = await pool.query<{ id: string }>({
      name: "plain_insert",
      text: insert,
      values: [request.body],
    });
    return reply.code(200).send({ id: rows[0]?.id });
  });
  await listenAndReport(app, pool);
}

if (process.argv.includes("--serve") && process.argv[1] === SELF) await serve();
