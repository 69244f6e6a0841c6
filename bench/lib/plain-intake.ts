/**
 * The intake baseline: the handler a team writes by hand — Fastify, a pg pool, one single-row
 * INSERT of the raw body per request, 200 after the commit. No verification, no dedupe, no
 * routing. Runs in its own process (like `keel start`) when started with `--serve`.
 *
 *   const plain = await startPlainIntake(databaseUrl, schema, poolSize); // creates <schema>.events
 *   … POST http://127.0.0.1:<plain.port>/in/bench …
 *   await plain.stop();
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import Fastify from "fastify";
import pg from "pg";

const SELF = fileURLToPath(import.meta.url);

export interface PlainIntake {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

export async function startPlainIntake(
  databaseUrl: string,
  schema: string,
  poolSize: number,
): Promise<PlainIntake> {
  const child = spawn(process.execPath, ["--import", "tsx", SELF, "--serve"], {
    env: {
      ...process.env,
      BENCH_PLAIN_URL: databaseUrl,
      BENCH_PLAIN_SCHEMA: schema,
      BENCH_PLAIN_POOL: String(poolSize),
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout as NonNullable<typeof child.stdout> }).once("line", (line) =>
      resolve(Number(JSON.parse(line).port)),
    );
    child.once("exit", (code) => reject(new Error(`plain intake exited with ${code} before listening`)));
  });
  return {
    pid: child.pid as number,
    port,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
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
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === "object" ? address?.port : 0 })}\n`);
  process.on("SIGTERM", () => {
    void app.close().then(() => pool.end().then(() => process.exit(0)));
  });
}

if (process.argv.includes("--serve") && process.argv[1] === SELF) await serve();
