import { isKeelError } from "@keel/engine";
import { EXIT, exitCodeFor, normalizeError, OperatorError } from "./exit-codes.js";
import { Output } from "./output.js";
import { openSession, type Session } from "./session.js";

/** The flag every operator command takes. */
export interface JsonFlag {
  json?: boolean;
}

/**
 * Runs one operator command: opens the database, runs `fn`, closes everything, and sets the
 * exit code. Errors print their message on stderr (a JSON envelope with --json), never a stack.
 *
 * @example
 * .action((opts: JsonFlag) => runOperator(opts, async ({ engine }, out) => out.result(await engine.listQueues(), () => "…")))
 */
export async function runOperator(
  flags: JsonFlag,
  fn: (session: Session, out: Output) => Promise<void>,
): Promise<void> {
  const out = new Output(flags.json === true);
  // Each batch of a bulk change commits on its own: Ctrl-C keeps what is done and stops.
  // Exiting runs the embedded Postgres's exit hook, so a server we started does not linger.
  const interrupt = () => {
    process.stderr.write("\ninterrupted: changes committed so far stay\n");
    process.exit(130);
  };
  process.once("SIGINT", interrupt);
  process.stdout.on("error", closedPipe);
  let session: Session | undefined;
  let code: number = EXIT.ok;
  try {
    session = await openSession();
    await fn(session, out);
  } catch (err) {
    code = report(err, out.json);
  } finally {
    await session?.close().catch(() => {});
    process.off("SIGINT", interrupt);
  }
  process.exitCode = code;
}

/**
 * Runs a command that needs no database (`keel import`): errors and exit codes as `runOperator`.
 *
 * @example
 * .action((file, opts: JsonFlag) => runOffline(opts, (out) => out.result(work(file), () => "…")))
 */
export async function runOffline(flags: JsonFlag, fn: (out: Output) => Promise<void> | void): Promise<void> {
  const out = new Output(flags.json === true);
  process.stdout.on("error", closedPipe);
  let code: number = EXIT.ok;
  try {
    await fn(out);
  } catch (err) {
    code = report(err, out.json);
  }
  process.exitCode = code;
}

// `keel jobs list | head -3`: the reader has what it wanted once it closes the pipe.
function closedPipe(err: NodeJS.ErrnoException): void {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? EXIT.ok);
  throw err;
}

function report(raw: unknown, json: boolean): number {
  const err = normalizeError(raw);
  const code = exitCodeFor(err);
  const known = isKeelError(err) || err instanceof OperatorError;
  const message = known
    ? (err as Error).message
    : `unexpected error: ${(err as Error)?.message ?? err} (KEEL_LOG_LEVEL=debug shows the stack)`;
  const errorCode = known ? (err as { code: string }).code : "internal_error";
  process.stderr.write(
    json ? `${JSON.stringify({ error: { code: errorCode, message } })}\n` : `error: ${message}\n`,
  );
  // A stack only on request: operators get the message, developers can ask for more.
  if (!known && /^(debug|trace)$/.test(process.env.KEEL_LOG_LEVEL ?? "") && raw instanceof Error) {
    process.stderr.write(`${raw.stack}\n`);
  }
  return code;
}
